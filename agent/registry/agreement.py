"""AI–human agreement from the recorded sign-offs: accuracy, Cohen's kappa, the confusion matrix
(AI recommendation × reviewer decision), override reasons by frequency, and per reviewer."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select

from agent.registry.store import Registry
from agent.registry.tables import ReviewDecision

LABELS = ("approve", "reject", "need_info")


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of (AI, human) label pairs; None when undefined (no pairs, or chance
    agreement is certain because both sides only ever used one and the same label)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == h for a, h in pairs) / n
    ai, human = Counter(a for a, _ in pairs), Counter(h for _, h in pairs)
    expected = sum(ai[label] * human[label] for label in set(ai) | set(human)) / (n * n)
    if expected == 1.0:
        return None
    return round((observed - expected) / (1 - expected), 4)


def _summary(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    n = len(pairs)
    agree = sum(a == h for a, h in pairs)
    return {
        "decisions": n,
        "agreement": round(agree / n, 4) if n else None,
        "overrides": n - agree,
        "kappa": cohen_kappa(pairs),
    }


def agreement(reg: Registry) -> dict[str, Any]:
    """Agreement over each case's current decision that was shown a recommendation."""
    d = ReviewDecision
    q = select(d.reviewer, d.recommendation_decision, d.decision, d.reason).where(
        d.superseded_by.is_(None), d.recommendation_decision.is_not(None)
    )
    with reg.read() as s:
        rows = s.execute(q.order_by(d.id)).all()
    pairs = [(str(ai), str(human)) for _, ai, human, _ in rows]
    matrix = {ai: {h: 0 for h in LABELS} for ai in LABELS}
    for ai, human in pairs:
        matrix.setdefault(ai, {h: 0 for h in LABELS}).setdefault(human, 0)
        matrix[ai][human] += 1
    reasons = Counter((why or "").strip() or "(none)" for _, rec_d, human_d, why in rows if rec_d != human_d)
    by_reviewer: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for reviewer, rec_d, human_d, _ in rows:
        by_reviewer[reviewer].append((str(rec_d), str(human_d)))
    return {
        **_summary(pairs),
        "confusion": {"rows": "recommendation", "columns": "reviewer", "matrix": matrix},
        "override_reasons": [{"reason": r, "count": c} for r, c in reasons.most_common()],
        "per_reviewer": {r: _summary(p) for r, p in sorted(by_reviewer.items())},
    }
