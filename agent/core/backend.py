"""The one interface every backend offers: the offline one (``agent.review.offline``) and the
OpenAI-compatible one (``agent.llm.backend``). Tasks and the CLI call ``deps.backend`` and never
ask which backend it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agent.core.deps import Deps
    from agent.core.models import ApplicationForm, Case, Recommendation


@runtime_checkable
class Backend(Protocol):
    """Drafts the application form and reviews a case; the checks always decide."""

    @property
    def name(self) -> str:
        """The backend's name in provenance: ``offline`` or ``openai``."""
        ...

    @property
    def model(self) -> str | None:
        """The model behind it, None when there is none."""
        ...

    @property
    def io_bound(self) -> bool:
        """True when its work waits on the network, so a batch runs it in threads, not processes."""
        ...

    def draft(self, case: Case, deps: Deps) -> ApplicationForm:
        """The application form drafted from the case's records."""
        ...

    def review(self, case: Case, deps: Deps) -> Recommendation:
        """The recommendation for one loaded case."""
        ...
