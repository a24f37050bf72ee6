"""``supervise``: load the claims (agent.supervise.reader; bad lines named and skipped), the
registry and the item table into the engine, run every rule's SQL in dependency order, and
group the rows into flags with a summary by rule (CLAIMS.md §5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select

from agent.claims.lines import BadLine
from agent.core.catalog import Catalog
from agent.core.items import ItemTable
from agent.core.supervision import RuleSet
from agent.registry.certs import canonical_disease
from agent.registry.store import Registry
from agent.registry.tables import Certification, StatusEvent
from agent.supervise.engines import make_engine
from agent.supervise.flags import Flag, findings
from agent.supervise.reader import ClaimRow, ClaimsRead, bulk
from agent.supervise.shapes import rule_sql, unless_sql
from agent.supervise.tables import Tables, add_claims, add_item_table, add_registry


@dataclass
class Supervision:
    """Everything a run found, and what it read."""

    flags: list[Flag]
    rules: RuleSet
    claims: list[ClaimRow]
    bad_lines: list[BadLine]
    engine: str
    seconds: dict[str, float] = field(default_factory=dict)

    @cached_property
    def totals(self) -> dict[str, Decimal]:
        """Each flagged claim's total in yuan."""
        flagged = {cid for f in self.flags for cid in f.claim_ids}
        return {c.claim_id: Decimal(c.total_cents).scaleb(-2) for c in self.claims if c.claim_id in flagged}

    @cached_property
    def _summary(self) -> dict[str, Any]:
        return self._summarise()

    def summary(self) -> dict[str, Any]:
        """Counts by rule (flags, claims, amount at risk = the flagged claims' totals) and overall."""
        return self._summary

    def _summarise(self) -> dict[str, Any]:
        totals = self.totals
        by_rule = []
        for r in self.rules.rules:
            mine = [f for f in self.flags if f.rule == r.rule]
            ids = {cid for f in mine for cid in f.claim_ids}
            by_rule.append(
                {
                    "rule": r.rule,
                    "code": r.code,
                    "severity": r.severity,
                    "flags": len(mine),
                    "claims": len(ids),
                    "amount_at_risk": f"{sum((totals[i] for i in ids), Decimal('0.00')):.2f}",
                    "clause_id": r.clause_id,
                }
            )
        flagged = {cid for f in self.flags for cid in f.claim_ids}
        return {
            "claims": len(self.claims),
            "bad_lines": len(self.bad_lines),
            "flags": len(self.flags),
            "claims_flagged": len(flagged),
            "persons_flagged": len({f.id_number for f in self.flags}),
            "amount_at_risk": f"{sum((totals[i] for i in flagged), Decimal('0.00')):.2f}",
            "engine": self.engine,
            "rules_version": self.rules.rules_version,
            "by_rule": by_rule,
        }


def registry_rows(reg: Registry) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Certifications and status events as rows, through SQLAlchemy (any registry database)."""
    c, e = Certification, StatusEvent
    with reg.read() as s:
        certs = s.execute(select(c.id_number, c.disease, c.valid_from, c.valid_until, c.exit_date, c.exit_reason)).all()
        events = s.execute(select(e.id_number, e.type, e.date)).all()
    return [tuple(r) for r in certs], [tuple(r) for r in events]


def supervise(
    read: ClaimsRead,
    registry: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
    items: ItemTable,
    rules: RuleSet,
    engine: str = "duckdb",
    catalog: Catalog | None = None,
) -> Supervision:
    """Run every rule of ``rules`` on ``engine`` over the claims and the registry rows (claim
    diseases named by ``catalog`` as the registry names them)."""
    t0 = time.perf_counter()
    tables = Tables()
    with bulk():
        add_claims(tables, read, lambda name: canonical_disease(catalog, name) or name)
        add_registry(tables, *registry)
        add_item_table(tables, items)
    t1 = time.perf_counter()
    eng = make_engine(engine)
    flags: list[Flag] = []
    try:
        eng.load(tables)
        t2 = time.perf_counter()
        for rule in rules.ordered():
            if rule.unless:
                eng.keep(f"q_{rule.rule}", rule_sql(rule))
                rows = eng.keep(f"r_{rule.rule}", unless_sql(rule, f"q_{rule.rule}"))
            else:
                rows = eng.keep(f"r_{rule.rule}", rule_sql(rule))
            flags += findings(rule, rows, rules.labels)
    finally:
        eng.close()
    t3 = time.perf_counter()
    order = {r.rule: n for n, r in enumerate(rules.rules)}
    flags.sort(key=lambda f: (order[f.rule], f.first_day, f.claim_ids[0], f.generic or ""))
    seconds = {"tables": t1 - t0, "load": t2 - t1, "rules": t3 - t2}
    return Supervision(flags, rules, read.claims, read.bad, engine, seconds)
