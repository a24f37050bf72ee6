"""The knowledge base on a shared chroma server (``CERTREVIEW_CHROMA_URL``), for several machines.

Each refresh builds a new collection with a versioned name (``certreview-kb-<time>-<hash>``), then
switches the pointer — the metadata of the small collection ``certreview-live`` — in one server
call, then drops the collections older than the one it replaced (that one stays until the next
refresh, so a reader that opened it mid-refresh finishes its search). A reader reads the pointer
once and keeps that version. The manifest rides in the build collection's metadata, each clause
in its documents and metadata; the BM25 side is derived from the served collection and cached
locally by its versioned name, so it always matches the dense side being served."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.core.errors import KBError
from agent.core.i18n import N_, _
from agent.core.models import Clause
from agent.kb.health import BM25_FILES, content_hash
from agent.kb.index import KBIndex, fill_collection, save_bm25
from agent.kb.loader import file_sha256
from agent.kb.store import (
    KBStore,
    Progress,
    RefreshReport,
    _Build,
    _diff,
    _manifest,
    _read_policies,
    check_still_held,
    noop_report,
    required_policy_files,
)

PREFIX = "certreview-kb-"
POINTER = "certreview-live"
_HINT = N_("Start the server (`chroma run --host HOST --port PORT --path DIR`), or unset CERTREVIEW_CHROMA_URL.")


def http_client(url: str) -> Any:
    """A chromadb HttpClient for ``url`` with telemetry off; KBError naming the URL if unreachable."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlsplit(url)
    ssl = u.scheme == "https"
    try:
        return chromadb.HttpClient(
            host=u.hostname or "127.0.0.1",
            port=u.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as exc:  # chromadb raises ValueError or httpx errors for a server that is not there
        raise KBError(
            _("cannot reach the chroma server at {url}: {exc}", url=url, exc=_reason(exc)), _(_HINT)
        ) from None


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong (never a request body)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


@dataclass
class Served:
    """The collection the pointer names: its name, the collection, its manifest and its clauses."""

    name: str
    collection: Any
    manifest: dict[str, Any]
    clauses: list[Clause]


class RemoteStore:
    """The knowledge base on one chroma server; ``locker`` holds the refresh lock (a registry row
    when a database is shared, else the data home's file lock)."""

    def __init__(self, url: str, cache_root: Path, locker: KBStore) -> None:
        self.url = url
        self.cache = cache_root / re.sub(r"[^A-Za-z0-9._-]", "_", urlsplit(url).netloc)
        self.locker = locker
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The server's client, connected on first use."""
        if self._client is None:
            self._client = http_client(self.url)
        return self._client

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Server failures as KBError naming the server (exit 3), not a traceback."""
        from chromadb.errors import ChromaError

        try:
            yield
        except (ChromaError, OSError, ValueError) as exc:
            raise KBError(
                _("the chroma server at {url} failed: {exc}", url=self.url, exc=_reason(exc)), _(_HINT)
            ) from None

    # ------------------------------------------------------------ reading
    def live_name(self) -> str | None:
        """The collection the pointer names, or None before the first refresh."""
        from chromadb.errors import NotFoundError

        with self._calls():
            try:
                meta = self.client.get_collection(POINTER).metadata or {}
            except NotFoundError:
                return None
        name = meta.get("live")
        return str(name) if name else None

    def served(self, embedder: Any = None) -> Served | None:
        """The live version, read once: a refresh switching the pointer meanwhile changes nothing here."""
        from chromadb.errors import NotFoundError

        for _attempt in range(2):  # dropped between reading the pointer and opening it: read the pointer again
            name = self.live_name()
            if name is None:
                return None
            with self._calls():
                try:
                    col = self.client.get_collection(name, embedding_function=embedder)
                except NotFoundError:
                    continue
                manifest = json.loads((col.metadata or {})["manifest"])
                got = col.get(include=["metadatas"])
            rows = sorted(got["metadatas"], key=lambda m: int(m["pos"]))
            return Served(name, col, manifest, [Clause.model_validate_json(str(m["clause"])) for m in rows])
        raise KBError(_("the chroma server at {url} names a knowledge base it does not hold", url=self.url), _(_HINT))

    def index(self, served: Served, make_embedder: Callable[[], Any]) -> KBIndex:
        """The served version opened for search, its BM25 side from the local cache of that version."""
        folder = self.cache / served.name
        if not all((folder / "bm25" / f).exists() for f in BM25_FILES):
            self.cache.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{served.name}.", dir=self.cache))
            save_bm25(tmp / "bm25", served.clauses)
            try:
                tmp.rename(folder)  # whole or absent: two processes deriving it at once both succeed
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        self._forget_dropped(served.name)
        index = KBIndex(folder, make_embedder, served.clauses, served.collection)
        index.bm25_index()  # now: a later clean-up by another process cannot pull it from under us
        return index

    def _forget_dropped(self, keep: str) -> None:
        """Remove the cached BM25 of versions the server no longer holds (their readers are done)."""
        with self._calls():
            held = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        for old in self.cache.iterdir():
            if old.name != keep and not old.name.startswith(".") and old.name not in held:
                shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------ writing
    def refresh(
        self,
        policies: Path,
        embedder_name: str,
        make_embedder: Callable[[], Any],
        progress: Progress | None = None,
        *,
        force: bool = False,
        before_swap: Callable[[], None] | None = None,
    ) -> RefreshReport:
        """As ``KBStore.refresh``, on the server: new collection, pointer switch, old ones dropped."""
        files = required_policy_files(policies)
        with self.locker.lock():
            live = self.served()
            old = live.manifest if live else None
            hashes = {p.relative_to(policies).as_posix(): file_sha256(p) for p in files}
            if old and not force and KBStore._unchanged(old, hashes, embedder_name, policies):
                return noop_report(old, policies)
            build = _Build(policies, files, hashes, old, (old or {}).get("embedder") == embedder_name)
            report = self._rebuild(build, live, make_embedder, progress, before_swap)
            report.source = str(policies)
            return report

    def _rebuild(
        self,
        build: _Build,
        live: Served | None,
        make_embedder: Callable[[], Any],
        progress: Progress | None,
        before_swap: Callable[[], None] | None,
    ) -> RefreshReport:
        embedder = make_embedder()
        old_index = (
            KBIndex(self.cache, lambda: embedder, live.clauses, live.collection) if live and build.reuse else None
        )
        docs, skipped = _read_policies(build, old_index, progress)
        clauses = [c for d in docs for c in d.clauses]
        old_by_id = {c.clause_id: c for c in live.clauses} if live else {}
        unchanged = [c.clause_id for c in clauses if c.clause_id in old_by_id and old_by_id[c.clause_id].text == c.text]
        with self._calls():
            reuse = old_index.embeddings(unchanged) if old_index and unchanged else {}
        stamp = dt.datetime.now(dt.timezone.utc)
        chash = content_hash(clauses)
        name = f"{PREFIX}{stamp.strftime('%Y%m%dT%H%M%S%fZ')}-{chash[:8]}"
        manifest = _manifest(build, docs, skipped, chash, stamp, embedder.name())
        previous = live.name if live else None
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("index", done, len(clauses))

        with self._calls():
            self._drop(keep={previous})  # builds of refreshes that crashed
            col = self.client.create_collection(
                name, embedding_function=embedder, metadata={"hnsw:space": "cosine", "manifest": json.dumps(manifest)}
            )
            embedded = fill_collection(
                col, clauses, embedder, reuse, tick, extra=lambda i, c: {"pos": i, "clause": c.model_dump_json()}
            )
            if before_swap:
                before_swap()  # tests simulate a crash here: the live version must keep serving
            check_still_held(self.locker.writer_lock)
            self._switch(name, manifest["version"])
            self._drop(keep={name, previous})
        return _diff(build.old, old_by_id, docs, skipped, clauses, manifest["version"], embedded)

    def _switch(self, name: str, version: str) -> None:
        """Point readers at ``name``: one metadata update of the pointer collection."""
        pointer = self.client.get_or_create_collection(POINTER, metadata={"live": name, "version": version})
        pointer.modify(metadata={"live": name, "version": version})

    def _drop(self, keep: set[str | None]) -> None:
        """Drop the knowledge-base collections that are neither live nor kept."""
        for col in self.client.list_collections():
            cname = col if isinstance(col, str) else col.name
            if cname.startswith(PREFIX) and cname not in keep:
                self.client.delete_collection(cname)
