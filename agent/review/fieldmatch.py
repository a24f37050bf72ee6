"""Field equality as RULES.md §4 scores it (shared by the eval harness and form comparison)."""

from __future__ import annotations

import re
from typing import Any

from agent.coding.icd10 import normalize


def _nospace(s: Any) -> str:
    return re.sub(r"\s+", "", str(s))


def field_matches(name: str, gold: Any, pred: Any) -> bool:
    """``icd10`` equal after WHO normalisation; ``primary_diagnosis`` by containment either way
    (spaces removed); ``treatment_modalities`` as sets; everything else by equality."""
    if name == "icd10":
        if not gold or not pred:
            return not gold and not pred
        return normalize(str(gold)) is not None and normalize(str(gold)) == normalize(str(pred))
    if name == "primary_diagnosis":
        if not gold or not pred:
            return not gold and not pred
        g, p = _nospace(gold), _nospace(pred)
        return g in p or p in g
    if name == "treatment_modalities":
        return set(gold or []) == set(pred or [])
    if name == "diagnosis_date":
        return (gold or None) == (pred or None)
    return bool(gold == pred)
