"""Dependencies built once per process and passed explicitly to the tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.catalog import Catalog, load_catalog
from agent.config import Settings


@dataclass(frozen=True)
class Deps:
    """Settings, catalogue, knowledge base, backend, clock."""

    settings: Settings
    catalog: Catalog
    kb: Any  # agent.kb.service.KnowledgeBase (clause lookup; search only adds context)
    backend: Any = None  # agent.llm backend, None for offline
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.timezone.utc))

    @property
    def backend_name(self) -> str:
        return getattr(self.backend, "name", "offline") if self.backend else "offline"


def build_deps(
    settings: Settings | None = None, *, progress: Any = None, on_build: Any = None, backend: Any = None
) -> Deps:
    """Load the catalogue and open (building if needed) the knowledge base."""
    from agent.kb.service import open_kb

    settings = settings or Settings()
    catalog = load_catalog(settings.catalog_path)
    kb = open_kb(settings, progress, on_build=on_build)
    return Deps(settings=settings, catalog=catalog, kb=kb, backend=backend)
