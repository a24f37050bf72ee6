"""Scale figures for docs/DEPLOY.md (printed as JSON, nothing asserted): triage throughput with
1, 2, 4 workers offline and with 1, 2, 4, 8 model calls in flight against the scripted
OpenAI-compatible server with a set latency, and knowledge-base refresh time on a local index vs
on a ``chroma run`` server started here on loopback.

    python -m eval.bench_scale [--cases 248] [--latency 0.1] [--only triage|model|kb]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from eval.bench import make_batch


def _deps(home: Path, **over: Any) -> Any:
    from agent.review.deps import build_deps

    return build_deps(Settings(home=home, **over))


def bench_offline(tmp: Path, cases: int) -> dict[str, Any]:
    """Cases/s of the offline triage with 1, 2, 4 worker processes (their start-up included)."""
    from agent.review.triage import case_folders, run_batch

    folders = case_folders(make_batch(tmp / "batch-offline", cases))
    deps = _deps(tmp / "home")
    out: dict[str, Any] = {"cases": cases}
    for n in (1, 2, 4):
        t0 = time.perf_counter()
        done = sum(1 for _ in run_batch(folders, deps, workers=n))
        out[f"workers_{n}_cases_per_s"] = round(done / (time.perf_counter() - t0), 1)
    return out


def bench_model(tmp: Path, cases: int, latency: float) -> dict[str, Any]:
    """Cases/s with the model backend against the scripted server answering after ``latency`` s,
    with 1, 2, 4, 8 calls in flight (``triage --workers N``); the calls per case and the server's
    most requests at once show that N were in flight."""
    from agent.llm.backend import make_backend
    from agent.review.triage import case_folders, run_batch
    from tests.fake_openai import FakeOpenAI

    folders = case_folders(make_batch(tmp / "batch-model", cases))
    base = _deps(tmp / "home")
    out: dict[str, Any] = {"cases": cases, "latency_s": latency}
    with FakeOpenAI() as srv:
        srv.responder, srv.latency_s = _answer, latency
        for n in (1, 2, 4, 8):
            s = Settings(
                home=tmp / f"home-model-{n}",  # its own answer cache: every run asks the model
                backend="openai",
                llm_base_url=srv.base_url,
                llm_model="fake-model",
                llm_concurrency=n,
            )
            deps = make_backend(replace(base, settings=s))
            srv.max_in_flight, before = 0, len(srv.requests)
            t0 = time.perf_counter()
            recs = [r for r, _ in run_batch(folders, deps, workers=n)]
            wall = time.perf_counter() - t0
            out[f"n_{n}"] = {
                "cases_per_s": round(len(recs) / wall, 2),
                "calls_per_case": round((len(srv.requests) - before) / len(recs), 2),
                "max_in_flight": srv.max_in_flight,
                "fallbacks": sum(1 for r in recs if "LLM_FALLBACK" in r.flags),
            }
    return out


def _answer(req: dict[str, Any]) -> Any:
    """The scripted model: each finding stated, no field added, a rationale that cites nothing
    (so the offline one stands) — the calls are made, the decisions are the offline ones."""
    from tests.fake_openai import Reply

    system = req["messages"][0]["content"]
    if "第二审读员" in system:
        return Reply(json.dumps({"answer": "stated", "quote": ""}))
    if "摘录" in system:
        empty: dict[str, Any] = {k: {} for k in ("primary_diagnosis", "icd10", "diagnosis_basis", "diagnosis_date")}
        return Reply(json.dumps(empty | {"treatment_modalities": {"value": []}, "injection_suspected": False}))
    return Reply(json.dumps({"rationale": "审核意见：按检查结果处理。", "cited_clause_ids": []}, ensure_ascii=False))


def _timed_refresh(settings: Settings, **kw: Any) -> float:
    from agent.kb.service import refresh

    t0 = time.perf_counter()
    refresh(settings, **kw)
    return round(time.perf_counter() - t0, 2)


def bench_kb(tmp: Path) -> dict[str, Any]:
    """Seconds of a first build, a forced rebuild (vectors reused) and a no-op refresh, on a local
    index and on a chroma server on loopback; and of opening the served version."""
    from agent.kb.service import embedder_factory, open_kb
    from tests.chroma_server import chroma_server

    embedder_factory(Settings(home=tmp))()(["预热"])  # the model's load is paid once, by neither side
    out: dict[str, Any] = {}
    with chroma_server(tmp / "chroma") as url:
        for where, chroma_url in (("local", None), ("server", url)):
            s = Settings(home=tmp / f"home-kb-{where}", chroma_url=chroma_url)
            first = _timed_refresh(s)
            forced = _timed_refresh(s, force=True)
            noop = _timed_refresh(s)
            t0 = time.perf_counter()
            kb = open_kb(s)
            kb.search("跨省异地就医需要备案吗", k=5)  # opening is lazy locally: count the first search too
            opened = round(time.perf_counter() - t0, 2)
            out[where] = {
                "clauses": len(kb.clauses),
                "first_build_s": first,
                "forced_rebuild_s": forced,
                "noop_s": noop,
                "open_and_search_s": opened,
            }
    return out


def main() -> None:
    """Run the chosen benchmarks and print their figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=248)
    ap.add_argument("--model-cases", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--only", choices=["triage", "model", "kb"])
    a = ap.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if a.only in (None, "kb"):
            figures["kb_refresh"] = bench_kb(tmp)
        if a.only in (None, "triage"):
            figures["triage_offline"] = bench_offline(tmp, a.cases)
        if a.only in (None, "model"):
            figures["triage_model"] = bench_model(tmp, a.model_cases, a.latency)
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
