"""The knowledge base as the rest of certreview uses it: opened (and built on first use),
clause lookup by id, and search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from agent.core.errors import KBError
from agent.core.models import Clause, SearchHit
from agent.kb.index import KBIndex, Mode
from agent.kb.store import KBStore, Progress, RefreshReport


def embedder_factory(settings: Settings) -> Callable[[], Any]:
    """A factory for the configured embedder (imports chromadb only when called)."""

    def make() -> Any:
        from agent.kb.embed import make_embedder

        return make_embedder(
            settings.embedder,
            model=settings.embedding_model,
            base_url=settings.resolved_llm_base_url(),
            api_key=settings.resolved_llm_api_key(),
        )

    return make


def embedder_name(settings: Settings) -> str:
    """The registered name of the configured embedder, without importing it."""
    return {"use": "certreview-use-multilingual-v3", "openai": "certreview-openai-compatible"}[settings.embedder]


class KnowledgeBase:
    """A live knowledge-base build."""

    def __init__(self, folder: Path, manifest: dict[str, Any], make_embedder: Callable[[], Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.index = KBIndex(folder, make_embedder)

    @property
    def version(self) -> str:
        """Content hash and build time of this build."""
        return str(self.manifest["version"])

    @property
    def clauses(self) -> list[Clause]:
        """Every clause, in document order."""
        return self.index.clauses

    def clause(self, clause_id: str) -> Clause | None:
        """Exact lookup by clause id (citations are never looked up by similarity)."""
        return self.index.by_id.get(clause_id)

    def search(self, query: str, *, k: int = 5, topic: str | None = None, mode: Mode = "hybrid") -> list[SearchHit]:
        """Hybrid (or single-mode) search."""
        return self.index.search(query, k=k, topic=topic, mode=mode)


def refresh(
    settings: Settings, path: Path | None = None, progress: Progress | None = None, *, force: bool = False
) -> RefreshReport:
    """Refresh the knowledge base of ``settings.home`` from ``path`` (default: the shipped policies)."""
    store = KBStore(settings.kb_home)
    return store.refresh(
        (path or settings.policies_dir).resolve(),
        embedder_name(settings),
        embedder_factory(settings),
        progress,
        force=force,
    )


def open_kb(
    settings: Settings, progress: Progress | None = None, on_build: Callable[[], None] | None = None
) -> KnowledgeBase:
    """Open the live knowledge base, building it from the shipped policies if there is none."""
    store = KBStore(settings.kb_home)
    if store.current_dir() is None:
        if on_build:
            on_build()
        refresh(settings, progress=progress)
    folder, manifest = store.current_dir(), store.manifest()
    if folder is None or manifest is None:
        raise KBError("the knowledge base could not be built", "Run `certreview kb refresh` to see why.")
    return KnowledgeBase(folder, manifest, embedder_factory(settings))
