"""Knowledge-base builds on disk: refresh by file hash, build beside the live index, swap
atomically, one writer at a time.

Layout under ``<home>/kb``::

    CURRENT            name of the live build (replaced atomically with os.replace)
    .lock              held (filelock) by the one refresh allowed at a time
    .lock.pid          "pid N" of that refresh, so a second writer can name it
    builds/<name>/     manifest.json, clauses.jsonl, chroma/, bm25/
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from agent.core.errors import DocumentError, KBBusyError, KBError
from agent.core.models import Clause
from agent.kb.loader import PolicyDoc, Skipped, file_sha256, load_policy, policy_files

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class RefreshReport:
    """What a refresh changed."""

    version: str
    noop: bool = False
    docs_added: list[str] = field(default_factory=list)
    docs_changed: list[str] = field(default_factory=list)
    docs_removed: list[str] = field(default_factory=list)
    clauses_added: list[str] = field(default_factory=list)
    clauses_changed: list[str] = field(default_factory=list)
    clauses_removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    embedded: int = 0
    clause_count: int = 0

    @property
    def partial(self) -> bool:
        """True when some files were skipped: the rest is indexed."""
        return bool(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = self.__dict__.copy()
        d["skipped"] = [s.__dict__ for s in self.skipped]
        d["partial"] = self.partial
        return d


class KBStore:
    """The knowledge-base folder of one data home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.builds = root / "builds"

    # ------------------------------------------------------------ reading
    def current_name(self) -> str | None:
        """Name of the live build, or None when none was built yet."""
        p = self.root / "CURRENT"
        if not p.exists():
            return None
        name = p.read_text(encoding="utf-8").strip()
        return name if name and (self.builds / name / "manifest.json").exists() else None

    def current_dir(self) -> Path | None:
        """Folder of the live build."""
        name = self.current_name()
        return self.builds / name if name else None

    def manifest(self) -> dict[str, Any] | None:
        """The live build's manifest."""
        d = self.current_dir()
        if d is None:
            return None
        import json

        data: dict[str, Any] = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        return data

    # ------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the single-writer lock; a second writer gets KBBusyError at once, naming the holder."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / ".lock", timeout=0)
        holder = self.root / ".lock.pid"
        try:
            lock.acquire()
        except Timeout:
            raise KBBusyError(
                f"the knowledge base is being refreshed by {_read_holder(holder)}",
                "Wait for that refresh to finish, then run the command again.",
            ) from None
        try:
            # beside the lock, not in it: the lock file's content is filelock's business
            tmp = holder.with_name(f".lock.pid.{os.getpid()}")
            tmp.write_text(f"pid {os.getpid()}", encoding="utf-8")
            os.replace(tmp, holder)  # whole or absent, never half written, for a reader
            yield
        finally:
            holder.unlink(missing_ok=True)  # before the release: no next holder's file is removed
            lock.release()

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
        """Bring the index in line with ``policies``: re-embed only new or changed files, drop
        vanished ones, build beside the live index and swap atomically."""
        files = policy_files(policies)
        if not files:
            raise KBError(f"no policy documents in {policies}", "Put .md/.txt/.pdf/.docx policy files there.")
        with self.lock():
            old = self.manifest()
            hashes = {p.relative_to(policies).as_posix(): file_sha256(p) for p in files}
            old_files: dict[str, Any] = (old or {}).get("files", {})
            old_hashes = {k: v["sha256"] for k, v in old_files.items()}
            old_hashes.update({s["path"]: s["sha256"] for s in (old or {}).get("skipped", [])})
            same_embedder = (old or {}).get("embedder") == embedder_name
            if old and not force and same_embedder and hashes == old_hashes and old.get("source") == str(policies):
                return RefreshReport(
                    version=old["version"],
                    noop=True,
                    skipped=[Skipped(s["path"], s["reason"], s.get("hint")) for s in old.get("skipped", [])],
                    clause_count=old.get("clause_count", 0),
                )
            return self._rebuild(policies, files, hashes, old, same_embedder, make_embedder, progress, before_swap)

    def _rebuild(
        self,
        policies: Path,
        files: list[Path],
        hashes: dict[str, str],
        old: dict[str, Any] | None,
        same_embedder: bool,
        make_embedder: Callable[[], Any],
        progress: Progress | None,
        before_swap: Callable[[], None] | None,
    ) -> RefreshReport:
        from agent.kb.index import KBIndex, build_index, write_json

        old_dir = self.current_dir()
        old_files: dict[str, Any] = (old or {}).get("files", {})
        old_index = None
        embedder = make_embedder()
        if old_dir is not None:
            old_index = KBIndex(old_dir, lambda: embedder)
        docs: list[PolicyDoc] = []
        skipped: list[Skipped] = []
        for i, path in enumerate(files):
            rel = path.relative_to(policies).as_posix()
            if progress:
                progress("read", i, len(files))
            prev = old_files.get(rel)
            if old_index is not None and prev and prev["sha256"] == hashes[rel]:
                clauses = [old_index.by_id[c] for c in prev["clause_ids"] if c in old_index.by_id]
                docs.append(PolicyDoc(rel, prev["doc_id"], prev["title"], hashes[rel], clauses))
                continue
            try:
                docs.append(load_policy(path, policies))
            except DocumentError as exc:
                skipped.append(Skipped(rel, exc.reason, exc.hint))
        all_clauses: list[Clause] = [c for d in docs for c in d.clauses]
        old_by_id = old_index.by_id if old_index else {}
        unchanged = [
            c.clause_id
            for c in all_clauses
            if c.clause_id in old_by_id and old_by_id[c.clause_id].text == c.text and same_embedder
        ]
        reuse = old_index.embeddings(unchanged) if old_index and unchanged else {}
        stamp = dt.datetime.now(dt.timezone.utc)
        content_hash = _content_hash(all_clauses)
        name = f"{stamp.strftime('%Y%m%dT%H%M%S%fZ')}-{content_hash[:8]}"
        target = self.builds / name
        self._collect_garbage()
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("index", done, len(all_clauses))

        embedded = build_index(target, all_clauses, embedder, reuse, tick)
        version = f"{content_hash[:12]}@{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        manifest = {
            "version": version,
            "content_hash": content_hash,
            "built_at": stamp.isoformat(),
            "embedder": getattr(embedder, "name", lambda: "unknown")(),
            "source": str(policies),
            "clause_count": len(all_clauses),
            "files": {
                d.path: {
                    "sha256": d.sha256,
                    "doc_id": d.doc_id,
                    "title": d.title,
                    "clause_ids": [c.clause_id for c in d.clauses],
                }
                for d in docs
            },
            "skipped": [
                {"path": s.path, "reason": s.reason, "hint": s.hint, "sha256": hashes[s.path]} for s in skipped
            ],
        }
        write_json(target / "manifest.json", manifest)
        if before_swap:
            before_swap()  # tests simulate a crash here: the live build must keep serving
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")
        self._collect_garbage(keep_previous=old_dir.name if old_dir else None)
        return _diff(old, old_by_id, docs, skipped, all_clauses, version, embedded)

    def _collect_garbage(self, keep_previous: str | None = None) -> None:
        """Remove builds that are neither live nor the one just replaced (crashed ones included)."""
        if not self.builds.exists():
            return
        live = self.current_name()
        for d in self.builds.iterdir():
            if d.name not in {live, keep_previous}:
                shutil.rmtree(d, ignore_errors=True)


def _read_holder(holder: Path) -> str:
    """Who holds the lock, as its pid file says ("another process" between its acquire and write)."""
    try:
        return holder.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


def _content_hash(clauses: list[Clause]) -> str:
    h = hashlib.sha256()
    for c in sorted(clauses, key=lambda c: c.clause_id):
        h.update(f"{c.clause_id}\x1f{','.join(c.topics)}\x1f{c.text}\x1e".encode())
    return h.hexdigest()


def _diff(
    old: dict[str, Any] | None,
    old_by_id: dict[str, Clause],
    docs: list[PolicyDoc],
    skipped: list[Skipped],
    clauses: list[Clause],
    version: str,
    embedded: int,
) -> RefreshReport:
    old_files: dict[str, Any] = (old or {}).get("files", {})
    new_files = {d.path: d for d in docs}
    rep = RefreshReport(version=version, skipped=skipped, embedded=embedded, clause_count=len(clauses))
    rep.docs_added = sorted(p for p in new_files if p not in old_files)
    rep.docs_removed = sorted(p for p in old_files if p not in new_files)
    rep.docs_changed = sorted(p for p, d in new_files.items() if p in old_files and old_files[p]["sha256"] != d.sha256)
    new_by_id = {c.clause_id: c for c in clauses}
    # document order, not sorted: 第十条 sorts before 第二条 as text
    rep.clauses_added = [c for c in new_by_id if c not in old_by_id]
    rep.clauses_removed = [c for c in old_by_id if c not in new_by_id]
    rep.clauses_changed = [
        c
        for c, cl in new_by_id.items()
        if c in old_by_id and (old_by_id[c].text != cl.text or old_by_id[c].topics != cl.topics)
    ]
    return rep
