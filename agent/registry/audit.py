"""Append-only audit log of recommendations: JSON Lines, each entry chained to the previous one
by hash, so an edited, removed or reordered entry is detected by ``audit verify``."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.models import Recommendation

GENESIS = "0" * 64


def _head(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _last_hash(fh: Any) -> tuple[str, int]:
    fh.seek(0)
    last, n = GENESIS, 0
    for line in fh:
        if line.strip():
            last = json.loads(line)["hash"]
            n += 1
    return last, n


def append(log: Path, recs: list[Recommendation], *, actor: str = "certreview") -> int:
    """Append one entry per recommendation (case id, decision, codes, digest of the full result;
    no record text). Returns how many were written."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # one writer at a time; others wait
        try:
            prev, seq = _last_hash(fh)
            fh.seek(0, 2)
            for rec in recs:
                entry = {
                    "seq": seq,
                    "time": dt.datetime.now(dt.timezone.utc).isoformat(),
                    "actor": actor,
                    "case_id": rec.case_id,
                    "decision": rec.decision,
                    "reason_codes": rec.reason_codes,
                    "kb_version": rec.provenance.kb_version,
                    "result_sha256": hashlib.sha256(rec.model_dump_json().encode("utf-8")).hexdigest(),
                    "prev": prev,
                }
                digest = _digest(entry)
                entry["hash"] = digest
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
                prev, seq = digest, seq + 1
            fh.flush()
            # the head file pins the chain's end, so a truncated log is detected too
            _head(log).write_text(json.dumps({"seq": seq, "hash": prev}), encoding="utf-8")
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return len(recs)


@dataclass
class VerifyResult:
    """Outcome of verifying the chain."""

    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(log: Path) -> VerifyResult:
    """Recompute the chain; name the first entry where it breaks, and why."""
    if not log.exists():
        return VerifyResult(0, [])
    problems: list[str] = []
    prev, n = GENESIS, 0
    for lineno, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {lineno}: not valid JSON")
            break
        if entry.get("seq") != n:
            problems.append(
                f"line {lineno}: sequence {entry.get('seq')} where {n} was expected (entry removed or reordered)"
            )
            break
        if entry.get("prev") != prev:
            problems.append(f"line {lineno}: does not follow the previous entry (entry removed or reordered)")
            break
        if _digest(entry) != entry.get("hash"):
            problems.append(f"line {lineno}: content does not match its hash (entry edited)")
            break
        prev, n = entry["hash"], n + 1
    head = _head(log)
    if not problems and head.exists():
        pinned = json.loads(head.read_text(encoding="utf-8"))
        if pinned.get("hash") != prev or pinned.get("seq") != n:
            problems.append(
                f"the log ends at entry {n} but {pinned.get('seq')} were written (entries removed at the end)"
            )
    return VerifyResult(n, problems)
