"""The knowledge base as the rest of certreview uses it: opened (and built on first use),
clause lookup by id, and search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from agent.core.errors import KBError
from agent.core.i18n import _
from agent.core.locks import WriterLock
from agent.core.models import Clause, SearchHit
from agent.kb.health import quick_problems
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

    def __init__(
        self, folder: Path, manifest: dict[str, Any], make_embedder: Callable[[], Any], index: KBIndex | None = None
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.index = index or KBIndex(folder, make_embedder)

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


def _remote(settings: Settings, lock: WriterLock | None) -> Any:
    """The chroma server's store (``CERTREVIEW_CHROMA_URL``): BM25 cache and file lock in the data home."""
    from agent.kb.remote import RemoteStore

    assert settings.chroma_url is not None
    return RemoteStore(settings.chroma_url, settings.kb_home / "remote", KBStore(settings.kb_home, lock))


def _remembered(settings: Settings) -> str | None:
    """The policy folder the live version was built from, as its manifest says."""
    if settings.chroma_url is None:
        return KBStore(settings.kb_home).remembered_source()
    served = _remote(settings, None).served()
    return str(served.manifest.get("source")) if served and served.manifest.get("source") else None


def policy_source(settings: Settings, path: Path | None = None) -> tuple[Path, str]:
    """The policy folder a refresh reads, and why: ``given`` (``--path``), ``setting``
    (CERTREVIEW_POLICIES_DIR), ``remembered`` (the folder the live build came from: a ``--path``
    stays until another is given) or ``default`` (the shipped reference policy)."""
    if path is not None:
        return path.resolve(), "given"
    if "policies_dir" in settings.model_fields_set:
        return settings.policies_dir.resolve(), "setting"
    remembered = _remembered(settings)
    if remembered is None:
        return settings.policies_dir.resolve(), "default"
    folder = Path(remembered)
    if not folder.is_dir():
        raise KBError(
            _("the knowledge base was built from {folder}, which is no longer a folder", folder=folder),
            _("Give the policy folder to use: `certreview kb refresh --path DIR`."),
        )
    return folder, "remembered"


def refresh(
    settings: Settings,
    path: Path | None = None,
    progress: Progress | None = None,
    *,
    force: bool = False,
    lock: WriterLock | None = None,
    before_swap: Callable[[], None] | None = None,
) -> RefreshReport:
    """Refresh the knowledge base of ``settings.home`` (or of the chroma server) from ``path``, else
    from the folder the live build came from, else from the shipped policies; a damaged live build
    is rebuilt. ``lock``: where the one-writer lock lives (the command line passes the registry's
    when a database is shared; default a file in the data home)."""
    store = _remote(settings, lock) if settings.chroma_url else KBStore(settings.kb_home, lock)
    folder, origin = policy_source(settings, path)
    report = store.refresh(
        folder, embedder_name(settings), embedder_factory(settings), progress, force=force, before_swap=before_swap
    )
    report.source_origin = origin
    return report


def open_kb(
    settings: Settings,
    progress: Progress | None = None,
    on_build: Callable[[], None] | None = None,
    lock: WriterLock | None = None,
) -> KnowledgeBase:
    """Open the live knowledge base, building it from the shipped policies if there is none."""
    if settings.chroma_url:
        return _open_remote(settings, progress, on_build, lock)
    store = KBStore(settings.kb_home)
    if store.named_build() is None:
        if on_build:
            on_build()
        refresh(settings, progress=progress, lock=lock)
    name = store.named_build()
    problems = quick_problems(store.builds / name) if name else ["CURRENT names no build"]
    folder, manifest = store.current_dir(), store.manifest()
    if problems or folder is None or manifest is None:
        raise KBError(
            _("the knowledge base build {name} is damaged: {problems}", name=name, problems="; ".join(problems)),
            _("Run `certreview kb refresh`: it rebuilds a damaged knowledge base."),
        )
    return KnowledgeBase(folder, manifest, embedder_factory(settings))


def _open_remote(
    settings: Settings, progress: Progress | None, on_build: Callable[[], None] | None, lock: WriterLock | None
) -> KnowledgeBase:
    """The version the chroma server serves now, built from the shipped policies if it has none."""
    remote = _remote(settings, lock)
    make = embedder_factory(settings)
    served = remote.served(make())
    if served is None:
        if on_build:
            on_build()
        refresh(settings, progress=progress, lock=lock)
        served = remote.served(make())
    if served is None:
        raise KBError(
            _("the chroma server at {chroma_url} holds no knowledge base", chroma_url=settings.chroma_url),
            _("Run `certreview kb refresh`."),
        )
    index = remote.index(served, make)
    return KnowledgeBase(index.folder, served.manifest, make, index)
