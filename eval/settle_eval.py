"""The settlement part of ``certreview eval --claims DIR`` (CLAIMS.md §4): a throwaway registry
(a fresh data home) imports the set's certifications and events, settles its claims, and the
results are scored against the gold files — the share of claims exact to the cent in fund AND
self-pay, reason-code accuracy (the set of codes equal), and the malformed lines found."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from agent.core.errors import InvalidInputError
from agent.core.i18n import N_, _

GOLD_SETTLEMENT = "expected_settlement.jsonl"
GOLD_BAD_LINES = "expected_bad_lines.jsonl"
_HINT = N_("Each line of the gold files is a JSON object; the dataset format is in eval/claims/settle-dev/README.md.")


def read_gold(path: Path) -> list[dict[str, Any]]:
    """The lines of a gold file (a bad line is an InvalidInputError naming it)."""
    rows = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInputError(_("{path}: line {n} is not JSON", path=path, n=n), _(_HINT)) from None
        if not isinstance(obj, dict):
            raise InvalidInputError(_("{path}: line {n} is not a JSON object", path=path, n=n), _(_HINT))
        rows.append(obj)
    return rows


def has_settlement_gold(folder: Path) -> bool:
    """The set has settlement labels."""
    return (folder / GOLD_SETTLEMENT).is_file()


def settle_set(folder: Path, settings: Settings) -> Any:
    """Import the set into a fresh registry under a temporary data home and settle its claims."""
    from agent.core.catalog import load_catalog
    from agent.core.items import items_path, load_items
    from agent.core.settlement import load_settlement, settlement_path
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.store import open_registry
    from agent.settle.service import settle_file

    if not (folder / "claims.jsonl").is_file():
        raise InvalidInputError(
            _("{folder}: no claims.jsonl", folder=folder), _("A claims set holds claims.jsonl and its gold files.")
        )
    with tempfile.TemporaryDirectory(prefix="certreview-claims-eval-") as tmp:
        throwaway = settings.model_copy(update={"home": Path(tmp), "database_url": None})
        reg = open_registry(throwaway)
        try:
            catalog = load_catalog(settings.catalog_path)
            if (folder / "certifications.jsonl").is_file():
                import_certifications(reg, folder / "certifications.jsonl", catalog)
            if (folder / "events.jsonl").is_file():
                import_events(reg, folder / "events.jsonl")
            table = load_items(items_path(settings.catalog_path))
            policy = load_settlement(settlement_path(settings.catalog_path))
            return settle_file(reg, folder / "claims.jsonl", policy, table, catalog)
        finally:
            reg.close()


def score_settlement(folder: Path, run: Any) -> dict[str, Any]:
    """Exact-to-the-cent rate, reason-code accuracy and bad lines matched, with the misses listed."""
    gold = read_gold(folder / GOLD_SETTLEMENT)
    got = {r["claim_id"]: r for r in run.results}
    exact = fund_ok = self_ok = codes_ok = 0
    misses: list[dict[str, Any]] = []
    for g in gold:
        r = got.get(str(g.get("claim_id")))
        f = r is not None and r["fund"] == g.get("fund")
        s = r is not None and r["self_pay"] == g.get("self_pay")
        c = r is not None and sorted(r["reason_codes"]) == sorted(g.get("reason_codes") or [])
        fund_ok, self_ok, codes_ok, exact = fund_ok + f, self_ok + s, codes_ok + c, exact + (f and s)
        if not (f and s and c):
            misses.append(
                {
                    "claim_id": g.get("claim_id"),
                    "expected": {k: g.get(k) for k in ("fund", "self_pay", "reason_codes")},
                    "got": None if r is None else {k: r[k] for k in ("fund", "self_pay", "reason_codes")},
                }
            )
    n = len(gold) or 1
    metrics: dict[str, Any] = {
        "claims": len(gold),
        "settle_exact": round(exact / n, 4),
        "fund_exact": round(fund_ok / n, 4),
        "self_pay_exact": round(self_ok / n, 4),
        "reason_code_accuracy": round(codes_ok / n, 4),
        "misses": misses,
    }
    metrics |= _bad_lines(folder, run)
    return metrics


def _bad_lines(folder: Path, run: Any) -> dict[str, Any]:
    """Bad lines found against the gold ones: (line, field) matched, missed, extra."""
    path = folder / GOLD_BAD_LINES
    if not path.is_file():
        return {}
    want = {(int(b["line"]), b.get("field")) for b in read_gold(path)}
    found = {(b.line, b.field) for b in run.bad}
    matched = len(want & found)
    return {
        "bad_lines_expected": len(want),
        "bad_lines_found": len(found),
        "bad_lines_matched": round(matched / len(want), 4) if want else (1.0 if not found else 0.0),
        "bad_lines_missed": sorted([list(x) for x in want - found]),
        "bad_lines_extra": sorted([list(x) for x in found - want]),
    }


def evaluate_settlement(folder: Path, settings: Settings) -> dict[str, Any]:
    """Settle the set in a throwaway registry and score it."""
    return score_settlement(folder, settle_set(folder, settings))


def settlement_gates(metrics: dict[str, Any], min_settle_exact: float | None) -> list[str]:
    """Failed settlement gates, each named with the measured value."""
    failed = []
    if min_settle_exact is not None and metrics["settle_exact"] < min_settle_exact:
        failed.append(f"--min-settle-exact {min_settle_exact}: measured settle_exact = {metrics['settle_exact']}")
    if metrics.get("bad_lines_matched", 1.0) < 1.0 and min_settle_exact is not None:
        failed.append(
            f"malformed lines: measured bad_lines_matched = {metrics['bad_lines_matched']} (all must be found)"
        )
    return failed
