"""Benchmark of the reviewer's workbench (figures printed, nothing asserted): a generated queue of
500 cases (perturbed copies of the dev set, as ``eval.bench`` makes them), reviewed once at start,
then page loads over real HTTP from `certreview serve` in its own process on loopback: the queue (unfiltered and
filtered) and case pages, p50 / p95 in milliseconds. Goal: p95 ≤ 200 ms.

    python -m eval.bench_web [--cases 500] [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.core.config import PROJECT_ROOT, Settings
from agent.core.i18n import _
from eval.bench import make_batch
from eval.metrics import percentile


def _times(client: Any, paths: list[str], rounds: int) -> list[float]:
    out: list[float] = []
    for i in range(rounds):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return out


def _figures(ts: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ts, 0.5), 1), "p95_ms": round(percentile(ts, 0.95), 1), "n": len(ts)}


def _start(batch_dir: Path, home: Path, port: int) -> tuple[subprocess.Popen[str], float]:
    """`certreview serve` in its own process (as a reviewer runs it: the client here does not
    share its interpreter); the seconds until its queue answers."""
    import httpx

    env = {**os.environ, "CERTREVIEW_HOME": str(home)}
    cmd = [sys.executable, "-m", "cli", "serve", str(batch_dir), "--port", str(port), "--reviewer", "BENCH"]
    t0 = time.perf_counter()
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=quiet, stderr=quiet, text=True)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=60).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(_("certreview serve exited")) from None
            time.sleep(0.2)


def bench_web(tmp: Path, n: int, rounds: int) -> dict[str, Any]:
    """Start-up (review of ``n`` cases), then page-load percentiles for the queue and case pages."""
    import httpx

    from agent.kb.service import refresh
    from agent.web.server import free_port

    batch_dir = make_batch(tmp / "batch", n)
    refresh(Settings(home=tmp / "home"))  # built before: start-up is the review, not the index
    port = free_port()
    proc, startup_s = _start(batch_dir, tmp / "home", port)
    ids = sorted(p.name for p in batch_dir.iterdir())
    cases = [f"/case/{cid}" for cid in random.Random(5).sample(ids, min(50, len(ids)))]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _times(client, ["/", *cases[:5]], 6)  # warm-up: templates compiled, connection open
            queue = _times(client, ["/"], rounds)
            flt = ["/?decision=need_info", "/?signed=no", "/?flag=PROMPT_INJECTION_SUSPECTED"]
            filtered = _times(client, flt, rounds)
            case = _times(client, cases, rounds * 2)
            size_kb = len(client.get("/").content) / 1024
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    return {
        "cases": len(ids),
        "startup_s_incl_review": round(startup_s, 2),
        "queue_page": _figures(queue) | {"kb": round(size_kb)},
        "queue_filtered": _figures(filtered),
        "case_page": _figures(case),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print(f"workbench ({args.cases} generated cases):", json.dumps(bench_web(Path(d), args.cases, args.rounds)))


if __name__ == "__main__":
    main()
