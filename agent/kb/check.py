"""`kb check`: the catalogue, the item table, the settlement parameters and the supervision rules
load with every key known, and agree with the knowledge base and the extraction lexicon."""

from __future__ import annotations

from pathlib import Path

from agent.core.catalog import Catalog, CatalogError, TransplantDisease, load_catalog
from agent.core.i18n import _
from agent.core.items import items_path, load_items
from agent.core.models import Clause
from agent.core.settlement import load_settlement, settlement_path
from agent.core.supervision import ItemFilter, load_rules, rules_path
from agent.extract.lexicon import lexicon
from agent.kb.topics import TOPICS


def check_catalog(clauses: list[Clause], path: Path) -> list[str]:
    """Problems of the catalogue file: each key the typed load rejects (unknown, misspelt,
    missing, wrong type), else each disagreement with the knowledge base (``check_kb``)."""
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        return [f"{path}: {p}" for p in exc.problems]
    return check_kb(clauses, catalog) + check_beside(clauses, path) + check_supervision(clauses, rules_path(path))


def check_beside(clauses: list[Clause], catalog_path: Path) -> list[str]:
    """Problems of the item table and the settlement parameters beside the catalogue: each key
    their typed loads reject, else each clause id the knowledge base does not hold."""
    by_id = {c.clause_id for c in clauses}
    problems: list[str] = []
    named: list[tuple[str, str]] = []
    for path in (items_path(catalog_path), settlement_path(catalog_path)):
        try:
            if path.name == "items.yaml":
                named += [(f"{path.name} clause_id", load_items(path).clause_id)]
            else:
                named += [(f"{path.name} {w}", cid) for w, cid in load_settlement(path).all_clause_ids()]
        except CatalogError as exc:
            problems += [f"{path}: {p}" for p in exc.problems]
    problems += [f"{where}: clause {cid} is not in the knowledge base" for where, cid in named if cid not in by_id]
    return problems


def check_supervision(clauses: list[Clause], path: Path) -> list[str]:
    """Problems of the supervision rules: each key the typed load rejects, else each clause id
    that is not in the knowledge base and each item filter naming what the item table lacks."""
    try:
        rules = load_rules(path)
    except CatalogError as exc:
        return [f"{path}: {p}" for p in exc.problems]
    ids = {c.clause_id for c in clauses}
    problems = [f"{path}: clause_id: clause {rules.clause_id} is not in the knowledge base"] * (
        rules.clause_id not in ids
    )
    try:
        table = load_items(items_path(path))
    except CatalogError:
        table = None  # the item table's own problems are reported where it is loaded
    groups = {i.group for i in table.items.values()} if table else set()
    for r in rules.rules:
        if r.clause_id not in ids:
            problems.append(f"{path}: rules[{r.rule}].clause_id: clause {r.clause_id} is not in the knowledge base")
        p = r.p
        if table is not None and isinstance(p, ItemFilter):
            problems += [
                f"{path}: rules[{r.rule}].params.generics: {g} is not in the item table"
                for g in p.generics or []
                if table.get(g) is None
            ]
            problems += [
                f"{path}: rules[{r.rule}].params.groups: {g} is not a class group of the item table"
                for g in p.groups or []
                if g not in groups
            ]
    return problems


def check_kb(clauses: list[Clause], catalog: Catalog) -> list[str]:
    """Problems found, each a sentence naming what is wrong (empty when all is well)."""
    problems: list[str] = []
    by_id = {c.clause_id: c for c in clauses}
    for where, cid in catalog.all_clause_ids():
        if cid not in by_id:
            problems.append(_("{where}: clause {clause} is not in the knowledge base", where=where, clause=cid))
    tagged = {t for c in clauses for t in c.topics}
    for topic in TOPICS:
        if topic not in tagged:
            problems.append(_("topic '{topic}' has no clause tagged with it", topic=topic))
    for c in clauses:
        unknown = [t for t in c.topics if t not in TOPICS]
        if unknown:
            problems.append(_("{clause}: unknown topic(s) {topics}", clause=c.clause_id, topics=", ".join(unknown)))
    known_drugs = lexicon().drug_modality
    for d in catalog.diseases:
        if isinstance(d, TransplantDisease):
            # a drug the extractor does not know is never found in a record
            for drug in d.evidence.drugs:
                if known_drugs.get(drug) != "anti_rejection":
                    problems.append(
                        f"diseases[{d.name}].evidence.drugs: '{drug}' is not an anti-rejection drug of the lexicon"
                    )
    if not catalog.diseases:
        problems.append(_("the catalogue lists no diseases"))
    return problems
