"""The offline backend: the deterministic extractor, the checks and the templated rationale.
The default, and what every other backend builds on."""

from __future__ import annotations

from agent.core.deps import Deps
from agent.core.models import ApplicationForm, Case, Recommendation
from agent.review.draft import draft_case
from agent.review.recommend import review_case


class OfflineBackend:
    """The ``Backend`` that needs nothing beyond this machine."""

    name = "offline"
    model: str | None = None
    io_bound = False  # CPU-bound: a batch uses processes

    def draft(self, case: Case, deps: Deps) -> ApplicationForm:
        """The form from the deterministic extractor."""
        return draft_case(case, deps.catalog, kb_version=deps.kb.version).form

    def review(self, case: Case, deps: Deps) -> Recommendation:
        """The checks' recommendation with the templated 审核意见."""
        return review_case(case, deps)
