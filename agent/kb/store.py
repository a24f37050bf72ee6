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
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from agent.core.errors import DocumentError, KBBusyError, KBError
from agent.core.i18n import N_, _
from agent.core.locks import LockBusyError, WriterLock
from agent.core.models import Clause
from agent.kb.health import build_problems, content_hash, read_clauses, read_manifest, salvage_source
from agent.kb.loader import PolicyDoc, Skipped, file_sha256, load_policy, policy_files

Progress = Callable[[str, int, int], None]  # (stage, done, total)
KB_LOCK = "kb-refresh"  # the lock's name where a shared WriterLock keeps it
_BUSY_HINT = N_("Wait for that refresh to finish, then run the command again.")


_ORIGIN = {
    "given": N_("given with --path; a plain `kb refresh` keeps using it"),
    "remembered": N_("the folder of the last refresh; change it with --path"),
    "setting": N_("from CERTREVIEW_POLICIES_DIR"),
    "default": N_("the shipped reference policy"),
}


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
    source: str = ""  # the policy folder the live build now comes from
    source_origin: str = ""  # how it was chosen: given (--path) | remembered | setting | default
    repaired: list[str] = field(default_factory=list)  # what was wrong with the build it replaced
    damaged_build: str | None = None

    @property
    def partial(self) -> bool:
        """True when some files were skipped: the rest is indexed."""
        return bool(self.skipped)

    def repair_note(self) -> str | None:
        """What was wrong with the build a refresh replaced, when it was damaged."""
        if not self.repaired:
            return None
        return _(
            "Knowledge base build {name} was damaged ({problems}): rebuilt it.",
            name=self.damaged_build,
            problems="; ".join(self.repaired),
        )

    def source_note(self) -> str:
        """Which policy folder the live build comes from, and why that one."""
        why = _ORIGIN.get(self.source_origin)
        if why:
            return _("Policy folder: {folder} ({why}).", folder=self.source, why=_(why))
        return _("Policy folder: {folder}.", folder=self.source)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = self.__dict__.copy()
        d["skipped"] = [s.__dict__ for s in self.skipped]
        d["partial"] = self.partial
        return d


class KBStore:
    """The knowledge-base folder of one data home."""

    def __init__(self, root: Path, writer_lock: WriterLock | None = None) -> None:
        self.root = root
        self.builds = root / "builds"
        self.writer_lock = writer_lock  # shared machines: a lock row; None: the file lock below

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
        return None if d is None else read_manifest(d)

    def named_build(self) -> str | None:
        """The build CURRENT names, whole or not (None when none was built yet)."""
        p = self.root / "CURRENT"
        return p.read_text(encoding="utf-8", errors="replace").strip() if p.exists() else None

    def live_problems(self) -> list[str]:
        """What is wrong with the live build: [] when it is whole, or when none was built yet."""
        name = self.named_build()
        if name is None:
            return []
        return build_problems(self.builds / name) if name else ["CURRENT names no build"]

    def remembered_source(self) -> str | None:
        """The policy folder the live build was made from, as its manifest records it."""
        name = self.named_build()
        return salvage_source(self.builds / name) if name else None

    # ------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the single-writer lock; a second writer gets KBBusyError at once, naming the holder."""
        if self.writer_lock is not None:
            with shared_lock(self.writer_lock):
                yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / ".lock", timeout=0)
        holder = self.root / ".lock.pid"
        try:
            lock.acquire()
        except Timeout:
            raise KBBusyError(
                _("the knowledge base is being refreshed by {holder}", holder=_read_holder(holder)), _(_BUSY_HINT)
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
        files = required_policy_files(policies)
        with self.lock():
            named = self.named_build()
            problems = self.live_problems()
            old = self.manifest()
            hashes = {p.relative_to(policies).as_posix(): file_sha256(p) for p in files}
            if old and not problems and not force and self._unchanged(old, hashes, embedder_name, policies):
                return noop_report(old, policies)
            same_embedder = (old or {}).get("embedder") == embedder_name
            build = _Build(policies, files, hashes, old, same_embedder and not problems)
            report = self._rebuild(build, make_embedder, progress, before_swap)
            report.source = str(policies)
            if problems:
                report.repaired, report.damaged_build = problems, named
            return report

    @staticmethod
    def _unchanged(old: dict[str, Any], hashes: dict[str, str], embedder_name: str, policies: Path) -> bool:
        """Whether the live build already holds exactly these files, embedded alike, from this folder."""
        old_hashes = {k: v["sha256"] for k, v in old.get("files", {}).items()}
        old_hashes.update({s["path"]: s["sha256"] for s in old.get("skipped", [])})
        return old.get("embedder") == embedder_name and hashes == old_hashes and old.get("source") == str(policies)

    def _rebuild(
        self,
        build: _Build,
        make_embedder: Callable[[], Any],
        progress: Progress | None,
        before_swap: Callable[[], None] | None,
    ) -> RefreshReport:
        from agent.kb.index import KBIndex, build_index, write_json

        old_dir = self.current_dir()
        embedder = make_embedder()
        # a damaged build lends nothing: its clauses and vectors may be the damage
        old_index = KBIndex(old_dir, lambda: embedder) if old_dir is not None and build.reuse else None
        docs, skipped = _read_policies(build, old_index, progress)
        all_clauses: list[Clause] = [c for d in docs for c in d.clauses]
        old_by_id = old_index.by_id if old_index else _readable_clauses(old_dir)
        unchanged = [
            c.clause_id for c in all_clauses if c.clause_id in old_by_id and old_by_id[c.clause_id].text == c.text
        ]
        reuse = old_index.embeddings(unchanged) if old_index and unchanged else {}
        stamp = dt.datetime.now(dt.timezone.utc)
        chash = content_hash(all_clauses)
        name = f"{stamp.strftime('%Y%m%dT%H%M%S%fZ')}-{chash[:8]}"
        target = self.builds / name
        self._collect_garbage()
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("index", done, len(all_clauses))

        embedded = build_index(target, all_clauses, embedder, reuse, tick)
        manifest = _manifest(build, docs, skipped, chash, stamp, getattr(embedder, "name", lambda: "unknown")())
        write_json(target / "manifest.json", manifest)
        if before_swap:
            before_swap()  # tests simulate a crash here: the live build must keep serving
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")
        self._collect_garbage(keep_previous=old_dir.name if old_dir else None)
        return _diff(build.old, old_by_id, docs, skipped, all_clauses, manifest["version"], embedded)

    def _collect_garbage(self, keep_previous: str | None = None) -> None:
        """Remove builds that are neither live nor the one just replaced (crashed ones included)."""
        if not self.builds.exists():
            return
        live = self.current_name()
        for d in self.builds.iterdir():
            if d.name not in {live, keep_previous}:
                shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def shared_lock(writer_lock: WriterLock) -> Iterator[None]:
    """Hold the knowledge base's lock where ``writer_lock`` keeps it (a registry row)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(writer_lock.hold(KB_LOCK))
        except LockBusyError as exc:
            raise KBBusyError(
                _("the knowledge base is being refreshed by {holder}", holder=exc.holder), _(_BUSY_HINT)
            ) from None
        yield


def check_still_held(writer_lock: WriterLock | None) -> None:
    """Before a switch: KBBusyError when this refresh's lock row was taken over (it fell silent
    past its expiry), so two writers never both switch; nothing is switched."""
    lost_to = writer_lock.still_held(KB_LOCK) if writer_lock is not None else None
    if lost_to is not None:
        raise KBBusyError(
            _(
                "this refresh lost its lock before the switch (now held by {lost_to}); nothing was switched",
                lost_to=lost_to,
            ),
            _("Run the refresh again once the other one has finished."),
        )


def _read_holder(holder: Path) -> str:
    """Who holds the lock, as its pid file says ("another process" between its acquire and write)."""
    try:
        return holder.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


@dataclass
class _Build:
    """What one rebuild works from."""

    policies: Path
    files: list[Path]
    hashes: dict[str, str]
    old: dict[str, Any] | None
    reuse: bool  # whether the live build's clauses and vectors may be reused


def _read_policies(build: _Build, old_index: Any, progress: Progress | None) -> tuple[list[PolicyDoc], list[Skipped]]:
    """Every policy file as clauses: unchanged files from the live build, the rest read anew."""
    old_files: dict[str, Any] = (build.old or {}).get("files", {})
    docs: list[PolicyDoc] = []
    skipped: list[Skipped] = []
    for i, path in enumerate(build.files):
        rel = path.relative_to(build.policies).as_posix()
        if progress:
            progress("read", i, len(build.files))
        prev = old_files.get(rel)
        if old_index is not None and prev and prev["sha256"] == build.hashes[rel]:
            clauses = [old_index.by_id[c] for c in prev["clause_ids"] if c in old_index.by_id]
            docs.append(PolicyDoc(rel, prev["doc_id"], prev["title"], build.hashes[rel], clauses))
            continue
        try:
            docs.append(load_policy(path, build.policies))
        except DocumentError as exc:
            skipped.append(Skipped(rel, exc.reason, exc.hint))
    return docs, skipped


def _readable_clauses(folder: Path | None) -> dict[str, Clause]:
    """The clauses a damaged build still holds, for the change report (none when unreadable)."""
    clauses = read_clauses(folder) if folder is not None else None
    return {c.clause_id: c for c in clauses or []}


def _manifest(
    build: _Build, docs: list[PolicyDoc], skipped: list[Skipped], chash: str, stamp: dt.datetime, embedder: str
) -> dict[str, Any]:
    """The manifest of a new build; ``source`` remembers its policy folder for later refreshes."""
    return {
        "version": f"{chash[:12]}@{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "content_hash": chash,
        "built_at": stamp.isoformat(),
        "embedder": embedder,
        "source": str(build.policies),
        "clause_count": sum(len(d.clauses) for d in docs),
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
            {"path": s.path, "reason": s.reason, "hint": s.hint, "sha256": build.hashes[s.path]} for s in skipped
        ],
    }


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


def required_policy_files(policies: Path) -> list[Path]:
    """The policy files of ``policies``; ``KBError`` when there are none (nothing is built)."""
    files = policy_files(policies)
    if not files:
        raise KBError(
            _("no policy documents in {folder}", folder=policies), _("Put .md/.txt/.pdf/.docx policy files there.")
        )
    return files


def noop_report(old: dict[str, Any], policies: Path) -> RefreshReport:
    """The report of a refresh that found nothing to do: the live version as its manifest says."""
    return RefreshReport(
        version=old["version"],
        noop=True,
        skipped=[Skipped(s["path"], s["reason"], s.get("hint")) for s in old.get("skipped", [])],
        clause_count=old.get("clause_count", 0),
        source=str(policies),
    )
