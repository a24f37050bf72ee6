"""The knowledge base on a real chroma server (``chroma run`` on a loopback port, started once for
the module): it serves what a local build serves; a refresh builds a versioned collection and
switches the pointer, so a reader mid-refresh keeps the old version and a crash leaves it serving;
the BM25 side follows the served version; the refresh lock is a registry row across machines
(busy exit 75 naming the holder, a stale row taken over, renewal while held)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import Settings
from agent.core.locks import LockBusyError
from agent.kb.remote import PREFIX, RemoteStore, http_client
from agent.kb.service import open_kb, refresh
from agent.kb.store import KBStore
from agent.registry.locks import RegistryLock
from agent.registry.store import open_registry
from agent.registry.tables import LockRow
from tests.chroma_server import chroma_server, free_port
from tests.conftest import SHIPPED_POLICIES
from tests.test_registry import _postgres_db

NEW_ARTICLE = "第一条　本细则自二〇二六年一月一日起施行，龙骧虎步条款仅为测试而设。\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma") / "data") as url:
        yield url


@pytest.fixture(scope="module")
def remote_home(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home whose knowledge base lives on the server, built once from the shipped policies."""
    home = tmp_path_factory.mktemp("remote-home")
    refresh(Settings(home=home, chroma_url=server))
    return home


@pytest.fixture()
def rsettings(remote_home: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CERTREVIEW_HOME", str(remote_home))
    monkeypatch.setenv("CERTREVIEW_CHROMA_URL", server)
    monkeypatch.delenv("CERTREVIEW_DATABASE_URL", raising=False)
    return Settings(home=remote_home, chroma_url=server)


def _collections(url: str) -> list[str]:
    return sorted(c.name for c in http_client(url).list_collections() if c.name.startswith(PREFIX))


def _policies(tmp: Path, extra: bool) -> Path:
    """The shipped policies, with one more document when ``extra``."""
    folder = tmp / "policies"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(SHIPPED_POLICIES, folder)
    if extra:
        (folder / "TEST-XZ-2026.md").write_text(
            "---\ndoc_id: TEST-XZ-2026\ntitle: 测试细则\n---\n# 测试细则\n\n" + NEW_ARTICLE, encoding="utf-8"
        )
    return folder


def test_the_server_serves_what_a_local_build_serves(rsettings: Settings, kb_home: Path) -> None:
    local, remote = open_kb(Settings(home=kb_home)), open_kb(rsettings)
    assert [c.clause_id for c in remote.clauses] == [c.clause_id for c in local.clauses]
    assert remote.manifest["content_hash"] == local.manifest["content_hash"]
    for query in ("外省参保的病人来我们医院办门特要备案吗", "透析", "肾移植术后抗排异治疗"):
        for mode in ("hybrid", "bm25", "dense"):
            got = [h.clause_id for h in remote.search(query, k=5, mode=mode)]  # type: ignore[arg-type]
            assert got == [h.clause_id for h in local.search(query, k=5, mode=mode)], (query, mode)  # type: ignore[arg-type]
    assert KBStore(rsettings.kb_home).named_build() is None  # nothing was built locally


def test_a_reader_mid_refresh_keeps_the_old_version_and_bm25_follows_the_new(
    rsettings: Settings, server: str, tmp_path: Path
) -> None:
    old = open_kb(rsettings)
    seen: dict[str, Any] = {}

    def mid_refresh() -> None:  # the new collection is full, the pointer not yet switched
        reader = open_kb(rsettings)
        seen["version"] = reader.version
        seen["clause"] = reader.clause("TEST-XZ-2026#第一条")
        seen["collections"] = _collections(server)

    report = refresh(rsettings, _policies(tmp_path, extra=True), before_swap=mid_refresh)
    assert report.docs_added == ["TEST-XZ-2026.md"] and report.embedded == 1  # the rest reused from the server
    assert seen["version"] == old.version and seen["clause"] is None
    assert len(seen["collections"]) == 2  # the live one and the one being built
    new = open_kb(rsettings)
    assert new.version == report.version != old.version
    assert [h.clause_id for h in new.search("龙骧虎步", mode="bm25")] == ["TEST-XZ-2026#第一条"]
    assert [h.clause_id for h in old.search("龙骧虎步", mode="bm25")] == []  # the old reader's BM25 is its version's
    assert old.search("透析", k=1, mode="dense")  # the replaced collection still answers a reader that holds it
    refresh(rsettings, _policies(tmp_path, extra=False))
    assert len(_collections(server)) == 2  # live and the one it replaced; the one before was dropped
    assert open_kb(rsettings).clause("TEST-XZ-2026#第一条") is None


def test_a_refresh_that_crashes_before_the_switch_leaves_the_old_version_serving(
    rsettings: Settings, server: str, tmp_path: Path
) -> None:
    before = open_kb(rsettings).version

    def crash() -> None:
        raise RuntimeError("killed before the switch")

    with pytest.raises(RuntimeError):
        refresh(rsettings, _policies(tmp_path, extra=True), before_swap=crash)
    assert open_kb(rsettings).version == before
    crashed = set(_collections(server))
    refresh(rsettings, _policies(tmp_path, extra=False), force=True)
    live = RemoteStore(server, rsettings.kb_home / "remote", KBStore(rsettings.kb_home)).live_name()
    assert live is not None and live not in crashed
    assert len(_collections(server)) == 2  # the crashed build was dropped


def test_an_unreachable_server_and_a_bad_url_are_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CERTREVIEW_CHROMA_URL", url)
    r = CliRunner().invoke(cli.app, ["kb", "list"])
    assert r.exit_code == 3
    assert f"error: cannot reach the chroma server at {url}:" in r.stderr
    assert "hint: Start the server (`chroma run --host HOST --port PORT --path DIR`)" in " ".join(r.stderr.split())
    monkeypatch.setenv("CERTREVIEW_CHROMA_URL", "ftp://127.0.0.1:8000")
    r = CliRunner().invoke(cli.app, ["kb", "list"])
    assert r.exit_code == 2
    assert (
        "error: CERTREVIEW_CHROMA_URL='ftp://127.0.0.1:8000' is not valid: must be http://host:port or "
        "https://host:port" in " ".join(r.stderr.split())
    )


# ---------------------------------------------------------------- the lock row
@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL as machines sharing one would set it (SQLite on a shared disk, or PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    else:
        yield from _postgres_db()


def _lock(url: str, home: Path, ttl: float = 60.0) -> RegistryLock:
    return RegistryLock(lambda: open_registry(Settings(home=home, database_url=url)), ttl)


def test_a_refresh_on_another_machine_holds_the_lock_row(
    rsettings: Settings, shared_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CERTREVIEW_DATABASE_URL", shared_db)
    code = (
        "import sys; from pathlib import Path; from agent.core.config import Settings\n"
        "from agent.registry.locks import RegistryLock; from agent.registry.store import open_registry\n"
        f"s = Settings(home=Path({str(tmp_path / 'other')!r}), database_url={shared_db!r})\n"
        "with RegistryLock(lambda: open_registry(s), 60).hold('kb-refresh'):\n"
        "    print('held', flush=True); sys.stdin.readline()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = CliRunner().invoke(cli.app, ["kb", "refresh"])
    finally:
        holder.communicate("\n", timeout=30)
    assert r.exit_code == 75
    flat = " ".join(r.stderr.split())
    assert f"error: the knowledge base is being refreshed by pid {holder.pid} on {socket.gethostname()} (since " in flat
    assert "UTC unless renewed)" in flat
    assert "hint: Wait for that refresh to finish, then run the command again." in flat
    r = CliRunner().invoke(cli.app, ["kb", "refresh"])  # released: the next one runs
    assert r.exit_code == 0, r.stderr
    lock = _lock(shared_db, tmp_path)
    long_ago = dt.datetime(2026, 12, 4, 8, 0, 0, tzinfo=dt.timezone.utc)
    with lock.registry().write() as s, s.begin():  # a refresh whose machine died mid-way
        s.add(
            LockRow(
                name="kb-refresh", holder="pid 4242 on reviewer-2", token="t", acquired_at=long_ago, expires_at=long_ago
            )
        )
    r = CliRunner().invoke(cli.app, ["kb", "refresh"])
    assert r.exit_code == 0, r.stderr
    assert "Took over the refresh lock of pid 4242 on reviewer-2 (since 2026-12-04 08:00:00 UTC;" in " ".join(
        r.stderr.split()
    )


def test_a_stale_lock_row_is_taken_over_and_a_live_one_names_its_holder(shared_db: str, tmp_path: Path) -> None:
    lock = _lock(shared_db, tmp_path)
    now = dt.datetime.now(dt.timezone.utc)
    with lock.registry().write() as s, s.begin():
        s.add(
            LockRow(
                name="kb-refresh",
                holder="pid 4242 on reviewer-2",
                token="t",
                acquired_at=dt.datetime(2026, 12, 4, 8, 0, 0, tzinfo=dt.timezone.utc),
                expires_at=now + dt.timedelta(hours=1),
            )
        )
    with pytest.raises(LockBusyError) as exc, lock.hold("kb-refresh"):
        pass
    until = (now + dt.timedelta(hours=1)).strftime("%H:%M:%S")
    assert exc.value.holder == (
        f"pid 4242 on reviewer-2 (since 2026-12-04 08:00:00 UTC; its lock expires {until} UTC unless renewed)"
    )
    with lock.registry().write() as s, s.begin():  # its machine died: nobody renews it
        row = s.get(LockRow, "kb-refresh")
        assert row is not None
        row.expires_at = now - dt.timedelta(seconds=1)
    with lock.hold("kb-refresh"):
        assert lock.taken_over is not None and lock.taken_over.startswith("pid 4242 on reviewer-2 (since ")
    with lock.registry().read() as s:
        assert s.get(LockRow, "kb-refresh") is None  # released


def test_a_held_lock_is_renewed_past_its_time_to_live(shared_db: str, tmp_path: Path) -> None:
    holder, other = _lock(shared_db, tmp_path, ttl=0.6), _lock(shared_db, tmp_path, ttl=0.6)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.hold("kb-refresh"):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(10)
        time.sleep(1.5)  # more than twice its time to live
        with pytest.raises(LockBusyError, match=f"pid {os.getpid()} on "), other.hold("kb-refresh"):
            pass
    finally:
        release.set()
        t.join()
    with other.hold("kb-refresh"):
        pass


def test_the_lock_row_is_used_only_where_the_knowledge_base_is_shared(tmp_path: Path) -> None:
    from agent.cli.common import kb_lock

    db = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    assert kb_lock(Settings(home=tmp_path, database_url=db)) is None  # its own local index: the file lock
    assert kb_lock(Settings(home=tmp_path, chroma_url="http://127.0.0.1:8000")) is None  # no database to hold a row
    shared = kb_lock(Settings(home=tmp_path, database_url=db, chroma_url="http://127.0.0.1:8000"))
    assert isinstance(shared, RegistryLock)
    assert not (tmp_path / "shared.sqlite3").exists()  # opened only when a refresh takes the lock


def test_a_refresh_whose_lock_was_taken_over_switches_nothing(
    rsettings: Settings, shared_db: str, tmp_path: Path
) -> None:
    from agent.core.errors import KBBusyError

    lock = _lock(shared_db, tmp_path)
    before = open_kb(rsettings).version
    now = dt.datetime.now(dt.timezone.utc)

    def taken_over() -> None:  # this refresh fell silent past its expiry; another machine took the row
        with lock.registry().write() as s, s.begin():
            row = s.get(LockRow, "kb-refresh")
            assert row is not None
            s.delete(row)
            s.flush()
            s.add(LockRow(name="kb-refresh", holder="pid 77 on reviewer-9", token="x", acquired_at=now, expires_at=now))

    with pytest.raises(KBBusyError) as exc:
        refresh(rsettings, _policies(tmp_path, extra=True), lock=lock, before_swap=taken_over)
    assert exc.value.message.startswith(
        "this refresh lost its lock before the switch (now held by pid 77 on reviewer-9 (since "
    )
    assert exc.value.message.endswith("unless renewed)); nothing was switched")
    assert open_kb(rsettings).version == before
    with lock.registry().read() as s:
        assert s.get(LockRow, "kb-refresh") is not None  # the other machine's row is left alone
