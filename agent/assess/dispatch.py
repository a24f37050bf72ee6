"""Choose the assessor for a disease by its catalogue ``kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.assess.base import Assessment, assess_uncovered
from agent.assess.diabetes import assess_diabetes
from agent.assess.dialysis import assess_dialysis
from agent.assess.hypertension import assess_hypertension
from agent.assess.transplant import assess_transplant
from agent.assess.tumour import assess_tumour
from agent.core.catalog import Disease
from agent.extract.analysis import CaseAnalysis

# one per kind of the catalogue's criteria union (agent.core.criteria.KINDS; a test keeps them equal);
# each takes the disease model of its own kind, which the catalogue's discriminated load guarantees
ASSESSORS: dict[str, Callable[[CaseAnalysis, Any], Assessment]] = {
    "tumour": assess_tumour,
    "dialysis": assess_dialysis,
    "transplant": assess_transplant,
    "hypertension": assess_hypertension,
    "diabetes": assess_diabetes,
}


def assess(an: CaseAnalysis, d: Disease) -> Assessment:
    """The assessment of ``d`` in this case, by the assessor of its kind."""
    return ASSESSORS[d.kind](an, d)


__all__ = ["ASSESSORS", "assess", "assess_uncovered"]
