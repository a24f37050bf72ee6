"""The audit log on real files: a keyed chain, the head pinned beside the log and in the anchor,
every kind of damage named with its line, a damaged log never extended, and archiving."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from agent.core.models import Provenance, Recommendation
from agent.registry import audit
from agent.registry.anchor import FileHeadStore, Head, HeadStore, HeadUnreadable


def _recs(*ids: str) -> list[Recommendation]:
    return [
        Recommendation(
            case_id=i, decision="approve", reason_codes=["CRITERIA_MET"], provenance=Provenance(tool_version="t")
        )
        for i in ids
    ]


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "audit.jsonl"
    audit.append(path, _recs("A", "B"))
    audit.append(path, _recs("C"))
    assert audit.verify(path).ok and audit.verify(path).entries == 3
    return path


def _problems(log: Path) -> list[str]:
    res = audit.verify(log)
    assert not res.ok
    return res.problems


def test_key_is_private_and_entries_carry_no_record_text(log: Path) -> None:
    key = log.parent / "audit.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    entry = json.loads(log.read_text(encoding="utf-8").splitlines()[0])
    assert entry["alg"] == "hmac-sha256" and entry["case_id"] == "A" and "rationale" not in entry
    assert not [p for p in log.parent.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave nothing


def test_torn_last_line_is_named_and_blocks_appending(log: Path) -> None:
    with log.open("ab") as fh:
        fh.write(b'{"seq": 3, "time": "2025')  # a crash or a full disk mid-write
    assert _problems(log) == ["line 4: torn entry: the last line is incomplete (a crash or a full disk during a write)"]
    before = log.read_bytes()
    with pytest.raises(audit.AuditLogDamagedError) as exc:
        audit.append(log, _recs("D"))
    assert exc.value.exit_code == 6
    assert exc.value.message == (
        "audit log damaged (line 4: torn entry: the last line is incomplete (a crash or a full disk during a "
        f"write)); 1 result(s) were written but not recorded in {log}"
    )
    assert log.read_bytes() == before  # the damage stays as evidence


def test_one_bad_byte_is_named(log: Path) -> None:
    data = bytearray(log.read_bytes())
    data[20] = 0xFF
    log.write_bytes(bytes(data))
    assert _problems(log) == ["line 1: bad bytes: not UTF-8 text (damaged on disk or edited)"]


def test_deleting_the_whole_log_is_detected(log: Path) -> None:
    log.unlink()
    assert _problems(log) == [
        "truncated: the log ends at entry 0 but the head file audit.jsonl.head records 3 (the log deleted)",
        "truncated: the log ends at entry 0 but the anchor audit.anchor records 3 (the log deleted)",
    ]
    (log.parent / "audit.jsonl.head").unlink()
    (log.parent / "audit.anchor").unlink()
    assert _problems(log) == ["deleted: the audit key exists but the log and its anchor are gone"]


def test_deleting_the_last_line_and_the_head_is_detected_by_the_anchor(log: Path) -> None:
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    (log.parent / "audit.jsonl.head").unlink()
    assert _problems(log) == [
        "deleted head: the head file audit.jsonl.head is missing",
        "truncated: the log ends at entry 2 but the anchor audit.anchor records 3 (entries removed at the end)",
    ]


def test_garbage_or_forged_head_is_named(log: Path) -> None:
    head = log.parent / "audit.jsonl.head"
    head.write_bytes(b"\x00garbage")
    assert _problems(log) == ["damaged head: head file audit.jsonl.head is not a valid head (damaged or edited)"]
    head.write_text(json.dumps({"seq": 3, "hash": "0" * 64, "mac": "f" * 64}), encoding="utf-8")
    assert _problems(log) == ["damaged head: head file audit.jsonl.head does not match the audit key (edited)"]


def test_rewriting_the_whole_log_without_the_key_is_detected(log: Path) -> None:
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    prev = audit.GENESIS
    for e in entries:  # a forger recomputes the whole chain with a key of their own
        e["decision"] = "reject"
        e["prev"] = prev
        e["hash"] = prev = audit._mac(b"k" * 32, e)
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    assert _problems(log) == ["line 1: edited: the content does not match its keyed hash"]
    for e in entries:  # or drops the key and uses plain sha256, as older versions did
        del e["alg"]
        e["hash"] = hashlib.sha256(json.dumps(e, sort_keys=True).encode()).hexdigest()
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    assert _problems(log) == ["line 1: unkeyed entry: written without the audit key (an older certreview, or forged)"]


def test_a_missing_key_is_named(log: Path) -> None:
    (log.parent / "audit.key").unlink()
    assert _problems(log) == ["line 1: cannot check: the audit key audit.key is missing (deleted)"]
    (log.parent / "audit.key").write_text("not hex", encoding="ascii")
    assert _problems(log) == ["damaged key: the audit key audit.key is damaged; the chain cannot be checked"]


def test_entries_appended_by_hand_are_detected(log: Path) -> None:
    line = log.read_text(encoding="utf-8").splitlines()[-1]
    with log.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    assert _problems(log) == ["line 4: removed or reordered: sequence 2 where 3 was expected"]


def test_archive_sets_a_damaged_log_aside_and_starts_a_new_chain(log: Path) -> None:
    with log.open("ab") as fh:
        fh.write(b"{torn")
    damaged = log.read_bytes()
    dest, problems = audit.archive(log)
    assert problems == ["line 4: torn entry: the last line is incomplete (a crash or a full disk during a write)"]
    assert dest.read_bytes() == damaged and dest.parent == log.parent / "audit-archive"
    first = json.loads(log.read_text(encoding="utf-8"))
    assert first["event"] == "archived" and first["archive_sha256"] == hashlib.sha256(damaged).hexdigest()
    assert first["archive"] == f"audit-archive/{dest.name}" and first["archive_problems"] == problems
    assert audit.append(log, _recs("D")) == 1
    assert audit.verify(log).ok and audit.verify(log).entries == 2


def test_entries_added_with_a_valid_key_but_no_head_are_unpinned(log: Path) -> None:
    key = bytes.fromhex((log.parent / "audit.key").read_text(encoding="ascii"))
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    extra = {**last, "seq": 3, "prev": last["hash"], "case_id": "X"}
    extra["hash"] = audit._mac(key, extra)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(extra, ensure_ascii=False) + "\n")
    assert _problems(log)[0] == (
        "unpinned entries: the log has 4 entries but the head file audit.jsonl.head records 3 "
        "(an append interrupted before its head was written, or entries added by hand)"
    )


def test_a_lost_final_newline_still_verifies_and_is_repaired_on_append(log: Path) -> None:
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    assert audit.verify(log).ok
    audit.append(log, _recs("D"))
    assert audit.verify(log).entries == 4


def test_fresh_home_verifies_empty(tmp_path: Path) -> None:
    assert audit.verify(tmp_path / "none" / "audit.jsonl").ok
    assert audit.verify(tmp_path / "audit.jsonl").entries == 0


def test_the_anchor_is_behind_an_interface(tmp_path: Path) -> None:
    class MemoryStore:
        """What a registry database row would do: hold the head."""

        name = "anchor row"

        def __init__(self) -> None:
            self.head: Head | None = None

        def load(self, key: bytes | None) -> Head | None:
            return self.head

        def save(self, head: Head, key: bytes) -> None:
            self.head = head

        def exists(self) -> bool:
            return self.head is not None

    store: HeadStore = MemoryStore()
    log = tmp_path / "db-home" / "audit.jsonl"
    audit.append(log, _recs("A", "B"), anchor=store)
    head = store.load(None)
    assert head is not None and head.seq == 2
    assert not (log.parent / "audit.anchor").exists()  # the row holds it, not a file
    assert audit.verify(log, anchor=store).ok
    store.save(Head(seq=3, hash="a" * 64), b"k" * 32)  # the row says more was written than the log holds
    assert audit.verify(log, anchor=store).problems == [
        "truncated: the log ends at entry 2 but the anchor row records 3 (entries removed at the end)"
    ]
    files = FileHeadStore(tmp_path / "anchor", "anchor test")
    files.save(Head(seq=2, hash="b" * 64), b"k" * 32)
    assert files.load(b"k" * 32) == Head(seq=2, hash="b" * 64)
    with pytest.raises(HeadUnreadable, match="does not match the audit key"):
        files.load(b"j" * 32)


def _legacy_log(path: Path, n: int) -> bytes:
    """A log as certreview wrote it before the key: plain sha256 chain and an unsigned head."""
    prev, lines = audit.GENESIS, []
    for seq in range(n):
        entry = {"seq": seq, "case_id": f"L-{seq}", "decision": "approve", "prev": prev}
        entry["hash"] = prev = hashlib.sha256(
            json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest()
        lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    path.with_name(path.name + ".head").write_text(json.dumps({"seq": n, "hash": prev}), encoding="utf-8")
    return path.read_bytes()


def test_an_intact_log_of_an_older_version_is_archived_once_on_upgrade(tmp_path: Path) -> None:
    log = tmp_path / "home" / "audit.jsonl"
    old = _legacy_log(log, 3)
    assert _problems(log) == ["line 1: unkeyed entry: written without the audit key (an older certreview, or forged)"]
    assert audit.append(log, _recs("A")) == 1
    assert audit.verify(log).ok and audit.verify(log).entries == 2  # the archive event, then A
    first = json.loads(log.read_text(encoding="utf-8").splitlines()[0])
    assert first["archive_problems"] == ["unkeyed chain of an older certreview, intact"]
    assert (log.parent / first["archive"]).read_bytes() == old


def test_an_edited_old_log_is_not_archived_silently(tmp_path: Path) -> None:
    log = tmp_path / "home" / "audit.jsonl"
    _legacy_log(log, 3)
    log.write_text(log.read_text(encoding="utf-8").replace('"L-1"', '"L-9"'), encoding="utf-8")
    with pytest.raises(audit.AuditLogDamagedError, match="line 1: unkeyed entry"):
        audit.append(log, _recs("A"))
    assert not (log.parent / "audit-archive").exists()
