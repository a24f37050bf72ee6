"""Choose the assessor for a disease by its catalogue ``kind``."""

from __future__ import annotations

from collections.abc import Callable

from agent.assess.base import Assessment, assess_uncovered
from agent.assess.chronic import assess_diabetes, assess_dialysis, assess_hypertension, assess_transplant
from agent.assess.tumour import assess_tumour
from agent.core.catalog import Disease
from agent.extract.analysis import CaseAnalysis

ASSESSORS: dict[str, Callable[[CaseAnalysis, Disease], Assessment]] = {
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
