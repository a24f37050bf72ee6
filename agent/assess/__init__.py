"""Assessors: is a disease's certification evidence (认定标准, RULES.md §1) in the records?

One assessor per disease kind (``tumour``, ``dialysis``, ``transplant``, ``hypertension``,
``diabetes``: one module each) behind one interface, ``assess(analysis, disease) -> Assessment``,
chosen by the catalogue's ``kind`` in ``dispatch``; each fills in the steps of the skeleton
``base.Assessor``. Assessors hold logic only: thresholds, word lists and windows come from the
disease's typed criteria (``agent.core.criteria``, loaded by ``agent.core.catalog``) or the lexicon.

May import: ``agent.extract``, ``agent.coding``, ``agent.core``. Never: review, kb, llm, report, cli.
"""

from agent.assess.base import Assessment
from agent.assess.dispatch import assess, assess_uncovered

__all__ = ["Assessment", "assess", "assess_uncovered"]
