"""Benchmark of ``certreview supervise`` (figures printed, nothing asserted): a generated claims
file (eval/claims_gen.py; 1,000,000 lines by default) and its registry are prepared in a
throwaway data home, then ``supervise --out`` runs in a child process timed from start to exit,
its peak memory (RSS) read from the OS. DuckDB at full size; Spark local alongside at a smaller
size (its own line count is printed).

    python -m eval.bench_supervise [--lines 1000000] [--spark-lines 100000] [--no-spark]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.core.config import PROJECT_ROOT, Settings


def prepare(root: Path, lines: int) -> tuple[Path, Path, int, float]:
    """Generate a set of about ``lines`` claims under ``root`` and import its registry; the set,
    the data home, the claim lines written and the seconds it took."""
    from agent.core.catalog import load_catalog
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.store import open_registry
    from eval.claims_gen import generate

    t0 = time.perf_counter()
    data, home = root / "set", root / "home"
    w = generate(data, seed=11, persons=max(1, lines // 12), planted=16, near=8, months=12)
    settings = Settings(home=home)
    reg = open_registry(settings)
    try:
        import_certifications(reg, data / "certifications.jsonl", load_catalog(settings.catalog_path))
        import_events(reg, data / "events.jsonl")
    finally:
        reg.close()
    return data, home, len(w.claims), time.perf_counter() - t0


# a fresh parent per run, so the figures are that run's alone: the peak RSS of the largest process
# of its tree (the command, its reader workers, Spark's JVM) and the CPU of the whole tree
_MEASURE = (
    "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "sys.stderr.write(f'\\nMEASURED {r.ru_maxrss} {r.ru_utime + r.ru_stime}\\n'); sys.exit(p.returncode)"
)


def run(data: Path, home: Path, engine: str, out: Path) -> tuple[float, float, float, int]:
    """``supervise`` in a child process: wall seconds, CPU seconds (user + system of the process
    tree), peak RSS in MiB (its largest process), exit code."""
    env = dict(os.environ, CERTREVIEW_HOME=str(home))
    cmd = [sys.executable, "-m", "cli", "supervise", str(data / "claims.jsonl"), "--out", str(out), "--engine", engine]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 5):
        sys.stderr.write(proc.stderr[-2000:])
    tail = proc.stderr.rsplit("MEASURED ", 1)[-1].split()
    peak_kib, cpu = float(tail[0]), float(tail[1])  # ru_maxrss: KiB on Linux
    return seconds, cpu, peak_kib / 1024, proc.returncode


def bench(lines: int, engine: str) -> None:
    """Prepare and time one engine at one size; print the figures."""
    with tempfile.TemporaryDirectory(prefix="certreview-bench-supervise-") as tmp:
        data, home, n, prep = prepare(Path(tmp), lines)
        size = (data / "claims.jsonl").stat().st_size / 2**20
        print(f"[{engine}] prepared {n:,} claim lines ({size:.0f} MiB) and their registry in {prep:.1f} s", flush=True)
        load = os.getloadavg()[0]
        jvm = " (the Python side; Spark's JVM is not in these figures)" if engine == "spark" else ""
        seconds, cpu, peak, rc = run(data, home, engine, Path(tmp) / "out")
        print(
            f"[{engine}] supervise {n:,} lines: {seconds:.1f} s wall, {n / seconds:,.0f} lines/s, "
            f"{cpu:.1f} s CPU, peak RSS {peak:,.0f} MiB{jvm}, exit {rc} (5: the planted bad lines were skipped); "
            f"{os.cpu_count()} CPU(s), load average {load:.1f} before the run",
            flush=True,
        )


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--spark-lines", type=int, default=100_000)
    ap.add_argument("--no-spark", action="store_true")
    a = ap.parse_args()
    bench(a.lines, "duckdb")
    if not a.no_spark:
        from agent.supervise.engines import spark_missing

        why = spark_missing()
        if why:
            print(f"[spark] skipped: {why}")
        else:
            bench(a.spark_lines, "spark")


if __name__ == "__main__":
    main()
