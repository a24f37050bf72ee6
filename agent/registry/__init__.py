"""What outlives one run: the hash-chained audit log of recommendations (and, as the registry
grows, certifications, reviewer decisions and status events).

May import: ``agent.review`` and below.
"""
