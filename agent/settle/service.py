"""Settling a claims file against the registry: the file's persons' certifications, stored
results and accumulators loaded in bulk; new claims settled per person in (service_date,
claim_id) order continuing the stored accumulators; a claim_id settled before returns its stored
result (no double counting) unless ``resettle``, which recomputes each touched person-year from
zero in order; everything written in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic_core import from_json, to_json

from agent.claims.lines import BadLine, ClaimLine, read_claims
from agent.core.catalog import Catalog
from agent.core.items import ItemTable
from agent.core.settlement import Settlement
from agent.registry.store import Registry
from agent.settle import store
from agent.settle.engine import Accumulators, settle_claim

FLUSH = 5000  # result rows per write


@dataclass
class SettleRun:
    """What one run settled: per claim of the file (file order) its result and the claim, the
    bad lines, and counts."""

    results: list[dict[str, Any]]
    claims: list[ClaimLine]
    bad: list[BadLine]
    summary: dict[str, Any] = field(default_factory=dict)
    used: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)  # the persons' accumulators after the run

    @property
    def partial(self) -> bool:
        """Some lines were skipped (exit 5)."""
        return bool(self.bad)


def inputs_sha256(claim_json: str, policy: Settlement, table: ItemTable) -> str:
    """What a stored result was computed from: the claim (as stored), the parameters, the item table."""
    h = hashlib.sha256(claim_json.encode())
    h.update(policy.sha256.encode())
    h.update(table.sha256.encode())
    return h.hexdigest()


class _Disease:
    """The catalogue's name of a claim's disease (an alias read as the disease), cached."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog
        self.cache: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.cache:
            found = self.catalog.disease(name) if self.catalog is not None else None
            self.cache[name] = found.name if found is not None else name
        return self.cache[name]


@dataclass
class _Plan:
    """Which claims to compute and which stored results to return."""

    compute: list[ClaimLine]
    stored: dict[str, dict[str, Any]]
    changed: int  # stored results whose inputs differ from the file's line


def _plan(conn: Any, claims: list[ClaimLine], resettle: bool, shas: dict[str, str], acc: Accumulators) -> _Plan:
    """New claims are computed; stored ones returned, or with ``resettle`` every stored claim of
    each touched person-year is computed again (the file's line replacing its stored one)."""
    saved = store.load_results(conn, [c.claim_id for c in claims])
    if not resettle:
        stored = {cid: from_json(res) for cid, (_, res) in saved.items()}
        changed = sum(1 for c in claims if c.claim_id in saved and saved[c.claim_id][0] != shas[c.claim_id])
        return _Plan([c for c in claims if c.claim_id not in saved], stored, changed)
    years = {(c.id_number, c.service_date.year) for c in claims}
    mine = {c.claim_id for c in claims}
    again = [
        ClaimLine.model_validate_json(js)
        for cid, year, idn, js in store.load_year_claims(conn, sorted({c.id_number for c in claims}))
        if (idn, year) in years and cid not in mine
    ]
    for key in [k for k in acc.used if (k[0], int(k[1][:4])) in years]:
        del acc.used[key]  # the year is recomputed from zero
    return _Plan(claims + again, {}, 0)


def _unique(lines: list[tuple[int, ClaimLine]]) -> tuple[list[ClaimLine], int]:
    """The file's claims, a claim_id repeated in the file kept once (its first line)."""
    seen: dict[str, ClaimLine] = {}
    for _, c in lines:
        seen.setdefault(c.claim_id, c)
    return list(seen.values()), len(lines) - len(seen)


def settle_lines(
    reg: Registry,
    lines: list[tuple[int, ClaimLine]],
    policy: Settlement,
    table: ItemTable,
    catalog: Catalog | None = None,
    *,
    resettle: bool = False,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[tuple[str, str, str], Decimal]]:
    """Settle ``lines`` (good lines of a claims file): the result per line, the counts, and the
    accumulators of the file's persons after it."""
    claims, repeated = _unique(lines)
    disease = _Disease(catalog)
    dumped = {c.claim_id: c.model_dump_json() for c in claims}
    shas = {cid: inputs_sha256(js, policy, table) for cid, js in dumped.items()}
    persons = sorted({c.id_number for c in claims})
    now = dt.datetime.now(dt.timezone.utc)  # one time per run: its results are settled together
    with reg.write() as s, s.begin():
        conn = s.connection()
        coverage = store.load_coverage(conn, persons)
        acc = store.load_accumulators(conn, persons)
        plan = _plan(conn, claims, resettle, shas, acc)
        computed: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        for i, c in enumerate(sorted(plan.compute, key=lambda c: (c.id_number, c.service_date, c.claim_id))):
            d = disease(c.disease)
            covered = store.covers(coverage.get((c.id_number, d), ()), c.service_date)
            res = settle_claim(c, d, covered, policy, table, acc)
            computed[c.claim_id] = res
            js = dumped.pop(c.claim_id, None) or c.model_dump_json()  # None: a stored claim resettled
            rows.append(_row(c, res, js, now, shas.get(c.claim_id) or inputs_sha256(js, policy, table)))
            if len(rows) == FLUSH:  # written as we go: a large file is never held twice in memory
                store.replace_results(conn, rows)
                rows.clear()
            if advance is not None and i % 1000 == 999:
                advance(1000)
        store.replace_results(conn, rows)
        store.save_accumulators(conn, acc, {c.id_number for c in plan.compute})
    results = [computed.get(c.claim_id) or plan.stored[c.claim_id] for _, c in lines]
    counts = {
        "settled": sum(1 for c in claims if c.claim_id in computed),
        "already_settled": len(plan.stored),
        "stored_inputs_changed": plan.changed,
        "resettled_others": len(plan.compute) - len(claims) if resettle else 0,
        "repeated_in_file": repeated,
    }
    return results, counts, acc.used


def _row(c: ClaimLine, res: dict[str, Any], claim_json: str, now: dt.datetime, sha: str) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id,
        "id_number": c.id_number,
        "year": c.service_date.year,
        "service_date": c.service_date,
        "inputs_sha256": sha,
        "claim_json": claim_json,
        "result_json": to_json(res).decode(),  # pydantic-core's encoder: several times json.dumps' speed
        "settled_at": now,
    }


def summarize(
    results: list[dict[str, Any]], bad: list[BadLine], counts: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """Totals of a run: money, payable claims, reason codes, bad lines, speed."""
    once = list({r["claim_id"]: r for r in results}.values())  # a claim_id repeated in the file counts once
    total = sum((Decimal(r["total"]) for r in once), Decimal("0.00"))
    fund = sum((Decimal(r["fund"]) for r in once), Decimal("0.00"))
    reasons = Counter(code for r in once for code in r["reason_codes"])
    return {
        "claims": len(once),
        "payable": sum(1 for r in once if r["payable"]),
        "total": str(total),
        "fund": str(fund),
        "self_pay": str(total - fund),
        "reason_codes": dict(sorted(reasons.items())),
        "bad_lines": len(bad),
        "skipped": [{"line": b.line, "field": b.field, "message": b.message} for b in bad],
        **counts,
        "seconds": round(seconds, 3),
        "claims_per_s": round(len(results) / seconds, 1) if seconds > 0 else None,
    }


def settle_file(
    reg: Registry,
    path: Path,
    policy: Settlement,
    table: ItemTable,
    catalog: Catalog | None = None,
    *,
    resettle: bool = False,
    advance: Callable[[int], None] | None = None,
) -> SettleRun:
    """Read and settle a ``claims.jsonl``: bad lines named and skipped, the rest settled."""
    t0 = time.perf_counter()
    good, bad = read_claims(path)
    results, counts, used = settle_lines(reg, good, policy, table, catalog, resettle=resettle, advance=advance)
    run = SettleRun(results, [c for _, c in good], bad, used=used)
    run.summary = summarize(results, bad, counts, time.perf_counter() - t0)
    return run
