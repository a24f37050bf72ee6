"""Scoring exactly as RULES.md §4 says. Pure functions over gold and predictions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.core.models import FORM_FIELDS, Recommendation
from agent.review.fieldmatch import field_matches

LABELS = ("approve", "reject", "need_info")


@dataclass
class CaseScore:
    """One case: gold vs prediction."""

    case_id: str
    gold: dict[str, Any]
    pred: Recommendation
    field_ok: dict[str, bool] = field(default_factory=dict)
    reasons_hit: int = 0
    topics_hit: int = 0
    quotes: int = 0
    quotes_grounded: int = 0
    ungrounded: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return self.pred.decision == self.gold["decision"]


def fold(s: str) -> str:
    """Whitespace removed."""
    return re.sub(r"\s+", "", s)


def score_case(gold: dict[str, Any], pred: Recommendation, doc_text: Callable[[str], str | None]) -> CaseScore:
    """Score one case; ``doc_text(name)`` returns a record's extracted text (None if unreadable)."""
    cs = CaseScore(case_id=pred.case_id, gold=gold, pred=pred)
    fields = pred.form.fields if pred.form else {}
    for name in FORM_FIELDS:
        if name in gold.get("form", {}):
            value = fields[name].value if name in fields else None
            cs.field_ok[name] = field_matches(name, gold["form"][name], value)
    cs.reasons_hit = len(set(gold.get("reason_codes", [])) & set(pred.reason_codes))
    # the recommendation's own citations (those of its deciding checks), not every check's
    cited = {t for c in pred.citations for t in c.topics}
    cs.topics_hit = len(set(gold.get("must_cite_topics", [])) & cited)
    spans = [s for f in fields.values() for s in f.evidence] + [s for ch in pred.checks for s in ch.evidence]
    for s in spans:
        cs.quotes += 1
        text = doc_text(s.document)
        ok = text is not None and bool(s.quote) and fold(s.quote) in fold(text)
        if ok and text is not None and 0 <= s.start <= s.end <= len(text):
            ok = fold(text[s.start : s.end]) == fold(s.quote)
        if ok:
            cs.quotes_grounded += 1
        else:
            cs.ungrounded.append(f"{s.document}[{s.start}:{s.end}] {s.quote[:30]!r}")
    return cs


def macro_f1(pairs: Sequence[tuple[str, str | None]]) -> float:
    """Macro-F1 over approve / reject / need_info."""
    f1s = []
    for lab in LABELS:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        fp = sum(1 for g, p in pairs if g != lab and p == lab)
        fn = sum(1 for g, p in pairs if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..1)."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p * (len(v) - 1))))]


def aggregate(scores: list[CaseScore], times_ms: list[float], wall_s: float) -> dict[str, Any]:
    """Every metric of RULES.md §4."""
    n = len(scores)
    pairs = [(s.gold["decision"], s.pred.decision) for s in scores]
    confusion = {g: {p: 0 for p in (*LABELS, "error")} for g in LABELS}
    for g, p in pairs:
        confusion[g][p or "error"] += 1
    gold_reasons = sum(len(s.gold.get("reason_codes", [])) for s in scores)
    gold_topics = sum(len(s.gold.get("must_cite_topics", [])) for s in scores)
    field_acc = {}
    for name in FORM_FIELDS:
        judged = [s.field_ok[name] for s in scores if name in s.field_ok]
        if judged:
            field_acc[name] = round(sum(judged) / len(judged), 4)
    quotes = sum(s.quotes for s in scores)
    return {
        "cases": n,
        "decision_accuracy": round(sum(1 for g, p in pairs if g == p) / n, 4) if n else 0.0,
        "macro_f1": round(macro_f1(pairs), 4),
        "confusion": confusion,
        "false_approve": sum(1 for g, p in pairs if g != "approve" and p == "approve"),
        "false_reject": sum(1 for g, p in pairs if g == "approve" and p == "reject"),
        "errors": sum(1 for _, p in pairs if p is None),
        "reason_recall": round(sum(s.reasons_hit for s in scores) / gold_reasons, 4) if gold_reasons else 1.0,
        "field_accuracy": field_acc,
        "field_accuracy_min": min(field_acc.values()) if field_acc else 0.0,
        "citation_coverage": round(sum(s.topics_hit for s in scores) / gold_topics, 4) if gold_topics else 1.0,
        "grounding": round(sum(s.quotes_grounded for s in scores) / quotes, 4) if quotes else 1.0,
        "quotes": quotes,
        "turnaround_ms": {
            "p50": round(percentile(times_ms, 0.5), 2),
            "p95": round(percentile(times_ms, 0.95), 2),
            "max": round(max(times_ms), 2) if times_ms else 0.0,
        },
        "cases_per_s": round(n / wall_s, 2) if wall_s > 0 else 0.0,
    }
