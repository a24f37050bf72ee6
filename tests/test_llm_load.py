"""The model as a cluster under load, against the scripted local server with latency and scripted
429/5xx (real HTTP on 127.0.0.1): throughput grows with the cases in flight, the concurrency limit
holds, no request is lost, Retry-After is waited, and a spent token budget stops the calls with the
reason on each case that fell back."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import ConfigError, load_settings
from agent.review.triage import case_folders, run_batch
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case
from tests.fake_openai import FakeOpenAI, Reply
from tests.test_llm import backend_deps, scripted

CASES = 8


@pytest.fixture()
def srv() -> Any:
    with FakeOpenAI() as s:
        s.responder = scripted()
        yield s


@pytest.fixture()
def batch(cases_dir: Path) -> list[Path]:
    for i in range(CASES):
        # a specimen and visit number beside each finding: no question is answered from the cache
        pathology = PATHOLOGY.replace("切缘未见癌。", f"切缘未见癌。\n标本号：B25-{i:04d}")
        clinic = CLINIC_PLAN.replace("C34.100x001", f"C34.100x001\n复诊编号：{i:04d}").replace(
            "靶向治疗。", f"靶向治疗。\n处方号：R{i:04d}"
        )
        submitted = f"2025-06-{1 + i:02d}T09:00:00+08:00"
        write_case(
            cases_dir, base_case(f"L-{i:02d}", submitted_at=submitted), {"病理.txt": pathology, "门诊.txt": clinic}
        )
    return case_folders(cases_dir)


def _run(deps: Any, srv: FakeOpenAI, tmp: Path, folders: list[Path], n: int, **over: Any) -> tuple[list[Any], float]:
    d = backend_deps(deps, srv, tmp / f"n{n}", llm_concurrency=n, **over)
    t0 = time.perf_counter()
    recs = [r for r, _ in run_batch(folders, d, workers=n)]
    return recs, time.perf_counter() - t0


def test_throughput_grows_with_the_calls_in_flight(
    deps: Any, srv: FakeOpenAI, batch: list[Path], tmp_path: Path
) -> None:
    srv.latency_s = 0.2  # a model's decode time dominates, as on a real cluster
    walls: dict[int, float] = {}
    for n in (1, 2, 4):
        srv.max_in_flight = 0
        before = len(srv.requests)
        recs, walls[n] = _run(deps, srv, tmp_path, batch, n)
        assert [r.case_id for r in recs] == [f.name for f in batch]  # every case, in batch order
        assert all(r.decision == "approve" and "LLM_FALLBACK" not in r.flags for r in recs)
        assert srv.max_in_flight == n  # N in flight, never more than the limit
        assert sum(r.provenance.timings["llm_calls"] for r in recs) == len(srv.requests) - before
    assert walls[2] < 0.8 * walls[1] and walls[4] < 0.8 * walls[2], walls


def test_no_request_is_lost_under_429_and_5xx(deps: Any, srv: FakeOpenAI, batch: list[Path], tmp_path: Path) -> None:
    srv.latency_s = 0.01

    def fault(n: int) -> Reply | None:
        if n % 5 == 0:
            return Reply(status=429, headers={"Retry-After": "0.05"})
        return Reply(status=503) if n % 7 == 0 else None

    srv.fault = fault
    recs, _ = _run(deps, srv, tmp_path, batch, 4, llm_max_retries=4)
    assert {429, 503} <= set(srv.statuses)
    assert len(recs) == CASES and all(r.decision == "approve" for r in recs)
    assert not [r.case_id for r in recs if "LLM_FALLBACK" in r.flags]  # each failed call was retried to an answer
    # every attempt a case counted reached the server, and every answer reached its case
    assert sum(r.provenance.timings["llm_calls"] for r in recs) == len(srv.requests)
    assert all(len(r.provenance.tool_calls) == 3 for r in recs)  # every question of every case answered
    assert all(c["answer"] == "stated" for r in recs for c in r.provenance.tool_calls)


def test_retry_after_is_waited_before_the_next_attempt(
    deps: Any, srv: FakeOpenAI, batch: list[Path], tmp_path: Path
) -> None:
    arrivals: list[float] = []

    def fault(n: int) -> Reply | None:
        arrivals.append(time.perf_counter())
        return Reply(status=429, headers={"Retry-After": "0.4"}) if n == 1 else None

    srv.fault = fault
    recs, _ = _run(deps, srv, tmp_path, batch[:1], 1)
    assert "LLM_FALLBACK" not in recs[0].flags
    assert arrivals[1] - arrivals[0] >= 0.4


def test_a_spent_token_budget_stops_the_calls_and_says_why(
    deps: Any, srv: FakeOpenAI, batch: list[Path], tmp_path: Path
) -> None:
    recs, _ = _run(deps, srv, tmp_path, batch, 1, llm_token_budget=500)  # the server reports 120 tokens a call
    assert len(srv.requests) == 5  # 0, 120, 240, 360, 480 tokens used before each: the fifth is the last
    assert len(recs) == CASES and all(r.decision == "approve" for r in recs)  # the offline result stands
    fell_back = [r for r in recs if "LLM_FALLBACK" in r.flags]
    assert fell_back and fell_back[-1].case_id == batch[-1].name
    assert {r.provenance.flag_reasons["LLM_FALLBACK"] for r in fell_back} == {
        "token budget of 500 tokens for this batch spent (600 used)"
    }


def test_a_token_budget_below_one_is_named(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("CERTREVIEW_LLM_TOKEN_BUDGET", "0")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert exc.value.message == (
        "CERTREVIEW_LLM_TOKEN_BUDGET='0' is not valid: must be 1 or more tokens (unset it for no budget)"
    )
    r = CliRunner().invoke(cli.app, ["kb", "list"])
    assert r.exit_code == 2 and "CERTREVIEW_LLM_TOKEN_BUDGET='0' is not valid" in r.stderr


def test_triage_workers_keep_n_model_calls_in_flight(
    srv: FakeOpenAI, batch: list[Path], home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    srv.latency_s = 0.3  # long enough that the cases' calls overlap on a busy machine
    monkeypatch.setenv("CERTREVIEW_LLM_BASE_URL", srv.base_url)
    monkeypatch.setenv("CERTREVIEW_LLM_MODEL", "fake-model")
    batch_dir = batch[0].parent
    r = CliRunner().invoke(cli.app, ["triage", str(batch_dir), "--backend", "openai", "--workers", "3", "--no-audit"])
    assert r.exit_code == 0, r.stderr
    assert srv.max_in_flight == 3
    monkeypatch.setenv("CERTREVIEW_LLM_CONCURRENCY", "2")  # the operator's limit wins over --workers
    shutil.rmtree(home / "cache")  # ask again: the first run's answers are cached
    srv.max_in_flight = 0
    r = CliRunner().invoke(cli.app, ["triage", str(batch_dir), "--backend", "openai", "--workers", "3", "--no-audit"])
    assert r.exit_code == 0, r.stderr
    assert srv.max_in_flight == 2


def test_answers_cached_by_many_threads_at_once_are_all_written(deps: Any, srv: FakeOpenAI, tmp_path: Path) -> None:
    """Cases in flight at once ask the same question: their cache writes must not collide."""
    from concurrent.futures import ThreadPoolExecutor

    client = backend_deps(deps, srv, tmp_path).backend.client
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: client._cache_put("ab" + "0" * 62, {"answer": i}), range(400)))
    assert client._cache_get("ab" + "0" * 62) is not None
    assert [p.name for p in (client.cache_dir / "ab").iterdir()] == ["ab" + "0" * 62 + ".json"]  # no leftovers
