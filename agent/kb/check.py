"""`kb check`: the catalogue and the knowledge base agree."""

from __future__ import annotations

from agent.core.catalog import Catalog
from agent.core.models import Clause
from agent.kb.topics import TOPICS


def check_kb(clauses: list[Clause], catalog: Catalog) -> list[str]:
    """Problems found, each a sentence naming what is wrong (empty when all is well)."""
    problems: list[str] = []
    by_id = {c.clause_id: c for c in clauses}
    for where, cid in catalog.all_clause_ids():
        if cid not in by_id:
            problems.append(f"{where}: clause {cid} is not in the knowledge base")
    tagged = {t for c in clauses for t in c.topics}
    for topic in TOPICS:
        if topic not in tagged:
            problems.append(f"topic '{topic}' has no clause tagged with it")
    for c in clauses:
        unknown = [t for t in c.topics if t not in TOPICS]
        if unknown:
            problems.append(f"{c.clause_id}: unknown topic(s) {', '.join(unknown)}")
    for d in catalog.diseases:
        ev = d.evidence.model_dump()
        criteria = {k: v for k, v in ev.items() if k != "clause_id" and v not in (None, [], {})}
        if not criteria:
            problems.append(f"disease '{d.name}' has no evidence criteria")
        if not d.icd10.qualifying:
            problems.append(f"disease '{d.name}' has no qualifying ICD-10 codes")
    if not catalog.diseases:
        problems.append("the catalogue lists no diseases")
    return problems
