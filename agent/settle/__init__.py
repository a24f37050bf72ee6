"""Settlement of certified outpatient claims (就医地目录、参保地政策): per claim what the fund pays
and why, with decimal arithmetic to the cent, and the per-person yearly / monthly accumulators
kept in the registry.

May import: ``agent.claims``, ``agent.registry``, ``agent.llm`` and below.
"""
