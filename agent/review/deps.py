"""Build the dependencies of a run once: settings, catalogue, the opened knowledge base."""

from __future__ import annotations

from typing import Any

from agent.core.backend import Backend
from agent.core.catalog import load_catalog
from agent.core.config import Settings
from agent.core.deps import Deps
from agent.core.locks import WriterLock
from agent.review.offline import OfflineBackend


def build_deps(
    settings: Settings | None = None,
    *,
    progress: Any = None,
    on_build: Any = None,
    backend: Backend | None = None,
    lock: WriterLock | None = None,
) -> Deps:
    """Load the catalogue and open (building if needed) the knowledge base; the backend is the
    offline one unless another is given; ``lock`` is the knowledge base's writer lock (the
    registry's row when machines share one, injected by the command line)."""
    from agent.kb.service import open_kb

    settings = settings or Settings()
    catalog = load_catalog(settings.catalog_path)
    kb = open_kb(settings, progress, on_build=on_build, lock=lock)
    warm_coder()
    return Deps(settings=settings, catalog=catalog, kb=kb, backend=backend or OfflineBackend(), kb_lock=lock)


def warm_coder() -> None:
    """Load the ICD-10 indexes once, with the other dependencies, so that the first case of a run
    does not pay for them (a turnaround outlier that p95 on a small set would show)."""
    from agent.coding.icd10 import is_valid
    from agent.coding.names import official_names

    official_names()
    is_valid("C34.1")
