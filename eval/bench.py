"""Benchmarks (figures printed, nothing asserted): knowledge-base build, no-op refresh, query
latency, a 10,000-clause synthetic knowledge base, draft time per case, and triage throughput
on a generated batch of 1,000 cases (perturbed copies of the dev set).

    python -m eval.bench [--only kb|draft|triage] [--cases 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.core.config import PROJECT_ROOT, Settings
from eval.metrics import percentile

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"
QUERIES = [
    "跨省异地就医需要备案吗",
    "透析病人要准备哪些材料",
    "门特有效期多久",
    "病理报告未见恶性怎么处理",
    "duplicate certification rule",
    "高血压合并左心室肥厚能办门特吗",
    "靶向药能报销吗",
    "身份证号不一致",
]


def _query_times(kb: Any, rounds: int) -> list[float]:
    """Milliseconds per hybrid query over the sample queries, after one warm-up query."""
    kb.search("预热", k=5)
    times = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            kb.search(q, k=5)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_kb(tmp: Path) -> dict[str, float]:
    """Build the shipped KB from scratch, refresh with no change, and time queries."""
    from agent.kb.service import open_kb, refresh

    s = Settings(home=tmp / "home-kb")
    t0 = time.perf_counter()
    rep = refresh(s)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    noop = refresh(s)
    noop_s = time.perf_counter() - t0
    assert noop.noop
    times = _query_times(open_kb(s), rounds=25)
    return {
        "clauses": rep.clause_count,
        "full_build_s": round(build, 2),
        "noop_refresh_s": round(noop_s, 3),
        "query_p50_ms": round(percentile(times, 0.5), 2),
        "query_p95_ms": round(percentile(times, 0.95), 2),
    }


def bench_kb_large(tmp: Path, n: int = 10_000) -> dict[str, float]:
    """A synthetic knowledge base of ``n`` clauses: build time and query p95."""
    from agent.kb.service import open_kb, refresh

    pol = tmp / "synthetic"
    pol.mkdir()
    rng = random.Random(7)
    words = [
        "参保",
        "备案",
        "透析",
        "病理",
        "定点医疗机构",
        "有效期",
        "复审",
        "靶向",
        "化疗",
        "身份核验",
        "异地",
        "认定标准",
        "出院小结",
        "诊断证明",
        "高血压",
        "糖尿病",
        "移植",
        "抗排异",
        "门特",
        "待遇",
    ]
    per_doc = 500
    for d in range(n // per_doc):
        lines = [f"---\ndoc_id: SYN-{d:03d}\ntitle: 合成文件{d}\n---"]
        for a in range(1, per_doc + 1):
            body = "，".join(rng.choice(words) + rng.choice(words) for _ in range(12))
            lines.append(f"第{a}条　{body}。")
        (pol / f"syn{d:03d}.md").write_text("\n".join(lines), encoding="utf-8")
    s = Settings(home=tmp / "home-large")
    t0 = time.perf_counter()
    rep = refresh(s, pol)
    build = time.perf_counter() - t0
    times = _query_times(open_kb(s), rounds=10)
    return {
        "clauses": rep.clause_count,
        "build_s": round(build, 1),
        "clauses_per_s": round(rep.clause_count / build, 1),
        "query_p50_ms": round(percentile(times, 0.5), 2),
        "query_p95_ms": round(percentile(times, 0.95), 2),
    }


def bench_draft(tmp: Path) -> dict[str, float]:
    """Draft every dev case (after start-up): ms per case."""
    from agent.core.catalog import load_catalog
    from agent.records.case import load_case
    from agent.review.draft import draft_case

    cat = load_catalog(Settings().catalog_path)
    folders = sorted(p for p in DEV.iterdir() if (p / "case.json").exists())
    draft_case(load_case(folders[0]), cat)  # warm-up: imports and lexicon compilation
    times = []
    for _ in range(3):
        for f in folders:
            t0 = time.perf_counter()
            draft_case(load_case(f), cat)
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "cases": len(folders),
        "draft_p50_ms": round(percentile(times, 0.5), 2),
        "draft_p95_ms": round(percentile(times, 0.95), 2),
        "draft_mean_ms": round(statistics.fmean(times), 2),
    }


def make_batch(dst: Path, n: int, seed: int = 11) -> Path:
    """``n`` perturbed copies of the dev cases (new ids, shifted submission times)."""
    rng = random.Random(seed)
    folders = sorted(p for p in DEV.iterdir() if (p / "case.json").exists())
    dst.mkdir(parents=True)
    for i in range(n):
        src = folders[i % len(folders)]
        out = dst / f"BENCH-{i:05d}"
        shutil.copytree(src, out, ignore=shutil.ignore_patterns("gold.json"))
        case = json.loads((out / "case.json").read_text(encoding="utf-8"))
        case["case_id"] = out.name
        minute = rng.randint(0, 59)
        case["submitted_at"] = case["submitted_at"][:14] + f"{minute:02d}" + case["submitted_at"][16:]
        (out / "case.json").write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return dst


def bench_triage(tmp: Path, n: int, workers: int) -> dict[str, float]:
    """`certreview triage` on a generated batch in a fresh process: cases/s, p50/p95, peak memory."""
    batch = make_batch(tmp / "batch", n)
    home = tmp / "home-triage"
    env = {"CERTREVIEW_HOME": str(home), "PATH": str(Path(sys.executable).parent)}
    subprocess.run(
        [sys.executable, "-m", "cli", "kb", "refresh"], env=env, check=True, capture_output=True, cwd=PROJECT_ROOT
    )
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "cli", "triage", str(batch), "--json", "--workers", str(workers), "--no-audit"],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    wall = time.perf_counter() - t0
    summary = json.loads(run.stdout.splitlines()[-1])["summary"]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "cases": summary["cases"],
        "errors": summary["errors"],
        "workers": workers,
        "cases_per_s_batch": summary["cases_per_s"],
        "cases_per_s_incl_startup": round(n / wall, 1),
        "per_case_p50_ms": summary["turnaround_ms"]["p50"],
        "per_case_p95_ms": summary["turnaround_ms"]["p95"],
        "peak_rss_mb_largest_process": round(peak_mb, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["kb", "kb-large", "draft", "triage"], action="append")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    want = set(args.only or ["kb", "kb-large", "draft", "triage"])
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "kb" in want:
            print("knowledge base (shipped policy):", json.dumps(bench_kb(tmp)))
        if "kb-large" in want:
            print("knowledge base (10,000 synthetic clauses):", json.dumps(bench_kb_large(tmp)))
        if "draft" in want:
            print("draft (dev cases, after start-up):", json.dumps(bench_draft(tmp)))
        if "triage" in want:
            print(f"triage ({args.cases} generated cases):", json.dumps(bench_triage(tmp, args.cases, args.workers)))


if __name__ == "__main__":
    main()
