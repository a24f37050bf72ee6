"""Dependencies built once per process and passed explicitly to the tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.core.backend import Backend
from agent.core.catalog import Catalog
from agent.core.certsource import CertificationSource, SignOffSource
from agent.core.config import Settings
from agent.core.locks import WriterLock


@dataclass(frozen=True)
class Deps:
    """Settings, catalogue, knowledge base, backend, clock."""

    settings: Settings
    catalog: Catalog
    kb: Any  # agent.kb.service.KnowledgeBase (clause lookup; search only adds context)
    backend: Backend  # always one: the offline backend unless another was configured
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.timezone.utc))
    certifications: CertificationSource | None = None  # the registry, when one is open; None: case.json only
    sign_offs: SignOffSource | None = None  # the registry's recorded decisions (queue and report show them)
    kb_lock: WriterLock | None = None  # the knowledge base's writer lock when shared (a registry row); None: a file

    @property
    def backend_name(self) -> str:
        """The backend's name, as provenance records it."""
        return self.backend.name
