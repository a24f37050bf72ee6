"""Append-only audit log of recommendations: JSON Lines, each entry chained to the previous one by
an HMAC under a key kept in the data home, its end pinned twice (a head file beside the log and an
anchor in the data home), so an edited, removed, reordered, truncated, deleted or wholly rewritten
log is named by ``audit verify``, with the line and the kind of damage.

A damaged log is never extended (the damage stays as evidence): ``append`` raises
:class:`AuditLogDamagedError` and the caller, which has already written its results, reports it.
``archive`` moves a damaged log aside and starts a new chain whose first entry names the archive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.errors import CertreviewError
from agent.core.i18n import _
from agent.core.models import Recommendation
from agent.registry.anchor import FileHeadStore, Head, HeadStore, HeadUnreadable, atomic_write

GENESIS = "0" * 64
ALG = "hmac-sha256"
EXIT_AUDIT_DAMAGED = 6  # results were written, but the audit log could not record them


class AuditLogDamagedError(CertreviewError):
    """The audit log (or its key, head or anchor) is damaged, so it was not extended."""

    exit_code = EXIT_AUDIT_DAMAGED


@dataclass(frozen=True)
class AuditFiles:
    """The files of one audit log: the log, its head, the anchor and the key in the data home."""

    log: Path
    anchor_store: HeadStore | None = None  # e.g. a registry database row; default: a file in the data home

    @property
    def head(self) -> HeadStore:
        """The head beside the log."""
        return FileHeadStore(
            self.log.with_name(self.log.name + ".head"), _("head file {name}", name=f"{self.log.name}.head")
        )

    @property
    def anchor(self) -> HeadStore:
        """The head anchored outside the log (a database row, once the registry has one)."""
        if self.anchor_store is not None:
            return self.anchor_store
        return FileHeadStore(self.log.parent / "audit.anchor", _("anchor {name}", name="audit.anchor"))

    @property
    def key(self) -> Path:
        """The HMAC key (mode 0600), created on first use."""
        return self.log.parent / "audit.key"

    @property
    def lock(self) -> Path:
        """A lock file apart from the log, so moving the log aside never moves the lock."""
        return self.log.parent / "audit.lock"


@dataclass
class VerifyResult:
    """Outcome of verifying the chain: entries that verify, and each problem (line and kind)."""

    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _mac(key: bytes, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    msg = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _read_key(path: Path) -> bytes | None:
    """The key, None when absent; ValueError when the file is not a key certreview wrote."""
    if not path.exists():
        return None
    try:
        key = bytes.fromhex(path.read_bytes().decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ValueError(_("the audit key audit.key is damaged; the chain cannot be checked")) from None
    if len(key) < 32:
        raise ValueError(_("the audit key audit.key is damaged; the chain cannot be checked"))
    return key


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        key = _read_key(path)
        assert key is not None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key


class _Damage(Exception):
    """Where and how one line breaks the chain (its message is what verify reports)."""


def _check_line(raw: bytes, lineno: int, torn: bool, prev: str, seq: int, key: bytes | None) -> str:
    """The entry's hash when it continues the chain; _Damage names the line and the kind otherwise."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Damage(_("line {n}: bad bytes: not UTF-8 text (damaged on disk or edited)", n=lineno)) from None
    except json.JSONDecodeError:
        if torn:
            raise _Damage(
                _("line {n}: torn entry: the last line is incomplete (a crash or a full disk during a write)", n=lineno)
            ) from None
        raise _Damage(_("line {n}: not JSON: the entry is damaged", n=lineno)) from None
    if not isinstance(entry, dict):
        raise _Damage(_("line {n}: not an entry: the line is not a JSON object", n=lineno))
    if entry.get("seq") != seq:
        raise _Damage(
            _(
                "line {n}: removed or reordered: sequence {got} where {seq} was expected",
                n=lineno,
                got=entry.get("seq"),
                seq=seq,
            )
        )
    if entry.get("prev") != prev:
        raise _Damage(_("line {n}: removed or reordered: does not follow the previous entry", n=lineno))
    if entry.get("alg") != ALG:
        raise _Damage(
            _("line {n}: unkeyed entry: written without the audit key (an older certreview, or forged)", n=lineno)
        )
    if key is None:
        raise _Damage(_("line {n}: cannot check: the audit key audit.key is missing (deleted)", n=lineno))
    if not hmac.compare_digest(str(entry.get("hash")), _mac(key, entry)):
        raise _Damage(_("line {n}: edited: the content does not match its keyed hash", n=lineno))
    return str(entry["hash"])


def _walk(data: bytes, key: bytes | None) -> tuple[int, str, list[str]]:
    """Entries that verify, the last verified hash, and the first problem (if any)."""
    prev, n = GENESIS, 0
    lines = data.split(b"\n")
    torn_tail = bool(data) and not data.endswith(b"\n")
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            prev = _check_line(raw, lineno, torn_tail and lineno == len(lines), prev, n, key)
        except _Damage as exc:
            return n, prev, [str(exc)]
        n += 1
    return n, prev, []


def _check_heads(files: AuditFiles, n: int, prev: str, key: bytes | None) -> list[str]:
    problems: list[str] = []
    for store in (files.head, files.anchor):
        try:
            head = store.load(key)
        except HeadUnreadable as exc:
            problems.append(_("damaged head: {error}", error=exc))
            continue
        if head is None:
            if n > 0:
                problems.append(_("deleted head: the {store} is missing", store=store.name))
        elif head.seq > n:
            gone = _("the log deleted") if not files.log.exists() else _("entries removed at the end")
            problems.append(
                _(
                    "truncated: the log ends at entry {n} but the {store} records {seq} ({gone})",
                    n=n,
                    store=store.name,
                    seq=head.seq,
                    gone=gone,
                )
            )
        elif head.seq < n:
            problems.append(
                _(
                    "unpinned entries: the log has {n} entries but the {store} records {seq} "
                    "(an append interrupted before its head was written, or entries added by hand)",
                    n=n,
                    store=store.name,
                    seq=head.seq,
                )
            )
        elif head.hash != prev:
            problems.append(_("rewritten: the last entry is not the one the {store} records", store=store.name))
    return problems


def _state(files: AuditFiles) -> tuple[int, str, list[str], bytes | None, bytes]:
    """(entries, last hash, problems, key, log bytes) of the log as it is on disk."""
    data = files.log.read_bytes() if files.log.exists() else b""
    try:
        key = _read_key(files.key)
    except ValueError as exc:
        return 0, GENESIS, [_("damaged key: {error}", error=exc)], None, data
    n, prev, problems = _walk(data, key)
    if problems:
        return n, prev, problems, key, data
    problems = _check_heads(files, n, prev, key)
    if not problems and n == 0 and key is not None and not data.strip():
        problems.append(_("deleted: the audit key exists but the log and its anchor are gone"))
    return n, prev, problems, key, data


@contextlib.contextmanager
def _locked(files: AuditFiles, exclusive: bool) -> Iterator[None]:
    files.lock.parent.mkdir(parents=True, exist_ok=True)
    with files.lock.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)  # writers wait for each other
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def verify(log: Path, *, anchor: HeadStore | None = None) -> VerifyResult:
    """Recompute the chain; name the first place it breaks (line number and kind of damage)."""
    files = AuditFiles(log, anchor)
    if not log.parent.exists():
        return VerifyResult(0, [])
    with _locked(files, exclusive=False):
        n, _, problems, _, _ = _state(files)
    return VerifyResult(n, problems)


def _entry(rec: Recommendation, seq: int, prev: str, actor: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": dt.datetime.now(dt.timezone.utc).isoformat(),
        "actor": actor,
        "case_id": rec.case_id,
        "decision": rec.decision,
        "reason_codes": rec.reason_codes,
        "kb_version": rec.provenance.kb_version,
        "result_sha256": hashlib.sha256(rec.model_dump_json().encode("utf-8")).hexdigest(),
        "alg": ALG,
        "prev": prev,
    }


def _extend(files: AuditFiles, key: bytes, entries: list[dict[str, Any]], prev: str, tail_newline: bool) -> None:
    """Chain, write and fsync the entries, then pin the new head in both stores."""
    lines = [] if tail_newline else [""]  # a last line whose newline was lost still verifies; end it
    for entry in entries:
        entry["prev"] = prev
        entry["hash"] = prev = _mac(key, entry)
        lines.append(json.dumps(entry, ensure_ascii=False))
    with files.log.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    head = Head(seq=entries[-1]["seq"] + 1, hash=prev)
    files.head.save(head, key)
    files.anchor.save(head, key)


def _legacy_chain(files: AuditFiles, data: bytes) -> bool:
    """Whether the log is an intact chain written before the key existed (plain sha256, an unsigned
    head beside it, no key and no anchor): the state an upgrade finds, archived once automatically."""
    if files.key.exists() or files.anchor.exists() or not data.strip():
        return False
    prev, n = GENESIS, 0
    try:
        for raw in data.splitlines():
            entry = json.loads(raw.decode("utf-8"))
            body = {k: v for k, v in entry.items() if k != "hash"}
            digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
            if "alg" in entry or entry.get("seq") != n or entry.get("prev") != prev or entry.get("hash") != digest:
                return False
            prev, n = digest, n + 1
        head_path = files.log.with_name(files.log.name + ".head")
        head = json.loads(head_path.read_text(encoding="utf-8")) if head_path.exists() else {"seq": n, "hash": prev}
    except (UnicodeDecodeError, ValueError, AttributeError):
        return False
    return head == {"seq": n, "hash": prev}


def append(log: Path, recs: list[Recommendation], *, actor: str = "certreview", anchor: HeadStore | None = None) -> int:
    """Append one entry per recommendation (case id, decision, codes, digest of the full result;
    no record text). Returns how many were written; AuditLogDamagedError when the log is damaged."""
    if not recs:
        return 0
    files = AuditFiles(log, anchor)
    with _locked(files, exclusive=True):
        n, prev, problems, key, data = _state(files)
        if problems and _legacy_chain(files, data):
            _archive_locked(files, actor, ["unkeyed chain of an older certreview, intact"], data)
            n, prev, problems, key, data = _state(files)
        if problems:
            raise AuditLogDamagedError(
                _(
                    "audit log damaged ({problem}); {n} result(s) were written but not recorded in {log}",
                    problem=problems[0],
                    n=len(recs),
                    log=log,
                ),
                _(
                    "Run `certreview audit verify` to see the damage, keep a copy of the log, then "
                    "`certreview audit archive` to set it aside and start a new chain."
                ),
            )
        if key is None:
            key = _create_key(files.key)
        entries = [_entry(rec, n + i, prev, actor) for i, rec in enumerate(recs)]
        _extend(files, key, entries, prev, tail_newline=not data or data.endswith(b"\n"))
    return len(recs)


def archive(log: Path, *, actor: str = "certreview", anchor: HeadStore | None = None) -> tuple[Path, list[str]]:
    """Move the log (damaged or not) into ``audit-archive/`` and start a new chain whose first entry
    names the archive, its sha256 and the problems found. Returns (archive path, problems)."""
    files = AuditFiles(log, anchor)
    with _locked(files, exclusive=True):
        _, _, problems, _, data = _state(files)
        return _archive_locked(files, actor, problems, data), problems


def _archive_locked(files: AuditFiles, actor: str, problems: list[str], data: bytes) -> Path:
    log = files.log
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dest = log.parent / "audit-archive" / f"{log.stem}-{stamp}{log.suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        os.replace(log, dest)
    else:
        atomic_write(dest, b"")
    head_file = log.with_name(log.name + ".head")
    if head_file.exists():
        os.replace(head_file, dest.with_name(dest.name + ".head"))
    try:
        key = _read_key(files.key)
    except ValueError:
        key = None
    if key is None:  # a damaged or deleted key: keep the old file as evidence, start a fresh key
        if files.key.exists():
            os.replace(files.key, dest.with_name(dest.name + ".key"))
        key = _create_key(files.key)
    first = {
        "seq": 0,
        "time": dt.datetime.now(dt.timezone.utc).isoformat(),
        "actor": actor,
        "event": "archived",
        "archive": dest.relative_to(log.parent).as_posix(),
        "archive_sha256": hashlib.sha256(data).hexdigest(),
        "archive_problems": problems,
        "alg": ALG,
    }
    _extend(files, key, [first], GENESIS, tail_newline=True)
    return dest
