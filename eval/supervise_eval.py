"""Supervision scored on a labelled claims set (eval/claims/<set>/): a throwaway registry (a fresh
data home) gets the set's certifications and events, the claims are supervised, and each rule is
scored by precision and recall over (rule, claim_id) pairs against ``expected_flags.jsonl``; the
bad lines found are compared with ``expected_bad_lines.jsonl`` when present."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from agent.core.errors import InvalidInputError
from agent.core.i18n import _

FLAGS_FILE = "expected_flags.jsonl"
BAD_FILE = "expected_bad_lines.jsonl"


def _gold(path: Path, keys: tuple[str, ...]) -> set[tuple[Any, ...]]:
    out = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            out.add(tuple(row[k] for k in keys))
        except (ValueError, KeyError, TypeError):
            raise InvalidInputError(
                _("{path}: line {n} is not a gold line with {keys}", path=path, n=n, keys=", ".join(keys)),
                _("Each line is a JSON object such as {example}", example=json.dumps(dict.fromkeys(keys, "…"))),
            ) from None
    return out


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 1.0


def per_rule(found: set[tuple[str, str]], gold: set[tuple[str, str]], rules: list[str]) -> dict[str, dict[str, Any]]:
    """Precision and recall of each rule over (rule, claim_id) pairs (1.0 when nothing to find
    and nothing found)."""
    out = {}
    for r in rules:
        f = {p for p in found if p[0] == r}
        g = {p for p in gold if p[0] == r}
        tp = len(f & g)
        out[r] = {
            "precision": _ratio(tp, len(f)),
            "recall": _ratio(tp, len(g)),
            "found": len(f),
            "expected": len(g),
            "false_positives": sorted(c for _, c in f - g)[:20],
            "missed": sorted(c for _, c in g - f)[:20],
        }
    return out


def score_supervision(dataset: Path, engine: str = "duckdb") -> dict[str, Any]:
    """Import the set into a throwaway registry, supervise its claims, score each rule."""
    from agent.core.catalog import load_catalog
    from agent.core.items import items_path, load_items
    from agent.core.supervision import load_rules, rules_path
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.store import open_registry
    from agent.supervise.reader import read_claims_file
    from agent.supervise.run import registry_rows, supervise

    if not (dataset / FLAGS_FILE).is_file():
        raise InvalidInputError(
            _("{dataset}: no {flags}", dataset=dataset, flags=FLAGS_FILE),
            _("A claims set needs the gold flags to be scored."),
        )
    base = Settings()
    with tempfile.TemporaryDirectory(prefix="certreview-claims-eval-") as tmp:
        settings = base.model_copy(update={"home": Path(tmp), "database_url": None})
        reg = open_registry(settings)
        try:
            catalog = load_catalog(settings.catalog_path)
            import_certifications(reg, dataset / "certifications.jsonl", catalog)
            if (dataset / "events.jsonl").is_file():
                import_events(reg, dataset / "events.jsonl")
            read = read_claims_file(dataset / "claims.jsonl")
            rules = load_rules(rules_path(settings.catalog_path))
            items = load_items(items_path(settings.catalog_path))
            result = supervise(read, registry_rows(reg), items, rules, engine, catalog)
        finally:
            reg.close()
    found = {(f.rule, cid) for f in result.flags for cid in f.claim_ids}
    gold = _gold(dataset / FLAGS_FILE, ("rule", "claim_id"))
    rule_ids = [r.rule for r in rules.rules]
    metrics: dict[str, Any] = {
        "claims": len(result.claims),
        "flags": len(result.flags),
        "pairs_found": len(found),
        "pairs_expected": len(gold),
        "rules": per_rule(found, gold, rule_ids),
        "min_rule_precision": min(m["precision"] for m in per_rule(found, gold, rule_ids).values()),
        "min_rule_recall": min(m["recall"] for m in per_rule(found, gold, rule_ids).values()),
        "seconds": round(sum(result.seconds.values()), 3),
    }
    if (dataset / BAD_FILE).is_file():
        want = _gold(dataset / BAD_FILE, ("line", "field"))
        got = {(b.line, b.field) for b in result.bad_lines}
        metrics["bad_lines"] = {"expected": len(want), "found": len(got), "matched": len(want & got)}
    return metrics


def check_rule_gates(metrics: dict[str, Any], min_precision: float | None, min_recall: float | None) -> list[str]:
    """The failed ``--min-rule-precision`` / ``--min-rule-recall`` gates, each naming the rule."""
    failed = []
    for rule, m in metrics["rules"].items():
        if min_precision is not None and m["precision"] < min_precision:
            failed.append(f"--min-rule-precision {min_precision}: {rule} precision = {m['precision']}")
        if min_recall is not None and m["recall"] < min_recall:
            failed.append(f"--min-rule-recall {min_recall}: {rule} recall = {m['recall']}")
    return failed
