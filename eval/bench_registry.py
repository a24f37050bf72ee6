"""Registry benchmark (figures printed, nothing asserted): import N certifications and N status
events from generated JSON Lines, then the p50/p95 of ``registry renewals`` and ``registry
show`` queries at that size. SQLite in a temp data home by default; ``--database-url`` for
PostgreSQL (use an empty database: the bench fills it).

    python -m eval.bench_registry [--n 100000] [--rounds 200] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from eval.metrics import percentile

DISEASES = ["恶性肿瘤门诊治疗", "尿毒症透析", "器官移植术后抗排异治疗", "高血压（伴并发症）", "糖尿病（伴并发症）"]
EVENT_TYPES = ["death", "insurance_stopped", "moved_out", "insurance_resumed"]


def _id(i: int) -> str:
    return f"4401{i:014d}"


def write_inputs(folder: Path, n: int, seed: int = 13) -> tuple[Path, Path]:
    """``n`` certifications of about n/1.5 persons over 2023–2026, and ``n`` events (a tenth for
    unknown persons), in a shuffled date order."""
    rnd = random.Random(seed)
    persons = max(1, int(n / 1.5))
    base = dt.date(2023, 1, 1)
    certs, events = folder / "certifications.jsonl", folder / "events.jsonl"
    with certs.open("w", encoding="utf-8") as fh:
        for i in range(n):
            p = rnd.randrange(persons)
            start = base + dt.timedelta(days=rnd.randrange(4 * 365))
            row = {
                "certification_id": f"CERT-{i:07d}",
                "id_number": _id(p),
                "name": "测试",
                "scheme": rnd.choice(["职工医保", "居民医保"]),
                "region_code": "440100",
                "disease": rnd.choice(DISEASES),
                "icd10": None,
                "valid_from": start.isoformat(),
                "institution": "示例医院",
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with events.open("w", encoding="utf-8") as fh:
        for i in range(n):
            p = rnd.randrange(persons) if rnd.random() > 0.1 else persons + i  # some for unknown persons
            day = base + dt.timedelta(days=rnd.randrange(4 * 365))
            row = {
                "event_id": f"EV-{i:07d}",
                "type": rnd.choice(EVENT_TYPES),
                "id_number": _id(p),
                "date": day.isoformat(),
            }
            fh.write(json.dumps(row) + "\n")
    return certs, events


def _timed(fn: Any, rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2)}


def run(n: int, rounds: int, database_url: str | None) -> dict[str, Any]:
    """Import, then query; returns the figures."""
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.queries import renewals, show_person
    from agent.registry.store import open_registry

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        certs, events = write_inputs(folder, n)
        reg = open_registry(Settings(home=folder / "home", database_url=database_url))
        t0, c0 = time.perf_counter(), time.process_time()
        rc = import_certifications(reg, certs)
        t_certs, c_certs = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        re_ = import_events(reg, events)
        t_events, c_events = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        again = import_certifications(reg, certs)
        t_again = time.perf_counter() - t0
        on = dt.date(2026, 6, 1)
        rnd = random.Random(7)
        persons = max(1, int(n / 1.5))
        figures = {
            "backend": reg.dialect,
            "n": n,
            "import_certifications_s": round(t_certs, 2),
            "import_certifications_cpu_s": round(c_certs, 2),  # this process alone (a busy machine inflates wall)
            "certifications_added": rc.added,
            "import_events_s": round(t_events, 2),
            "import_events_cpu_s": round(c_events, 2),
            "events_added": re_.added,
            "events_unmatched": len(re_.unmatched),
            "reimport_certifications_s": round(t_again, 2),
            "reimport_unchanged": again.unchanged,
            "renewals_6m": _timed(lambda: renewals(reg, on, 6), rounds),
            "show": _timed(lambda: show_person(reg, _id(rnd.randrange(persons)), on), rounds),
        }
        reg.close()
    return figures


def main() -> None:
    """Print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="certifications and events to import")
    ap.add_argument("--rounds", type=int, default=200, help="queries timed per kind")
    ap.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.rounds, args.database_url), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
