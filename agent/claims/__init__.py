"""The claims side of a certification's life (shared by ``settle`` and ``supervise``): the claims
file format of an outpatient 门特 visit (``claims.jsonl``, read line by line with every bad line
named by its number and field) and the item table of the reference 门特 scope as the settlement
and supervision rules use it.

May import: ``agent.review`` and below (the item table itself is loaded by ``agent.core.items``,
so that the extractor's drug lexicon reads the same list).
"""
