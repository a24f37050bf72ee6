"""Settlement benchmark (figures printed, nothing asserted): generate N claims (three items each,
≈ 3N item lines) for N/10 certified persons, import the certifications, then settle the claims
file on SQLite in a temp data home and print claims/s and the total seconds (goal: 200k claims
in ≤ 120 s on 2 cores).

    python -m eval.bench_settle [--claims 200000] [--database-url postgresql+psycopg://…]
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

# (disease, generics it is treated with)
TREATMENTS = [
    ("恶性肿瘤门诊治疗", ["奥希替尼", "卡培他滨", "昂丹司琼", "调强放射治疗"]),
    ("尿毒症透析", ["血液透析", "重组人促红素", "司维拉姆", "骨化三醇"]),
    ("器官移植术后抗排异治疗", ["他克莫司", "吗替麦考酚酯", "环孢素"]),
    ("高血压（伴并发症）", ["氨氯地平", "缬沙坦", "美托洛尔", "维生素C"]),
    ("糖尿病（伴并发症）", ["二甲双胍", "阿卡波糖", "甘精胰岛素", "他克莫司"]),
]


def _id(i: int) -> str:
    return f"4401{i:014d}"


def write_inputs(folder: Path, n: int, seed: int = 14) -> tuple[Path, Path]:
    """``n`` claims over 2025 for n/10 persons, each certified for one disease (a tenth of the
    claims fall outside the certification); three items per claim, a mix of 甲/乙/丙."""
    rnd = random.Random(seed)
    persons = max(1, n // 10)
    certs, claims = folder / "certifications.jsonl", folder / "claims.jsonl"
    kinds = [rnd.randrange(len(TREATMENTS)) for _ in range(persons)]
    with certs.open("w", encoding="utf-8") as fh:
        for p in range(persons):
            cert = {
                "certification_id": f"CERT-{p:07d}",
                "id_number": _id(p),
                "scheme": "职工医保" if p % 3 else "居民医保",
                "region_code": "440100",
                "disease": TREATMENTS[kinds[p]][0],
                "valid_from": "2025-01-01",
                "valid_until": "2025-11-30",
            }
            fh.write(json.dumps(cert, ensure_ascii=False) + "\n")
    base = dt.date(2025, 1, 1)
    with claims.open("w", encoding="utf-8") as fh:
        for i in range(n):
            p = rnd.randrange(persons)
            disease, generics = TREATMENTS[kinds[p]]
            items = [
                {
                    "generic": rnd.choice(generics),
                    "category": rnd.choice("甲甲乙乙丙"),
                    "amount": f"{rnd.randrange(100, 500000) / 100:.2f}",
                    "days_supply": 30,
                }
                for _ in range(3)
            ]
            row: dict[str, Any] = {
                "claim_id": f"CL-{i:08d}",
                "id_number": _id(p),
                "scheme": "职工医保" if p % 3 else "居民医保",
                "insured_region_code": "440100" if p % 4 else "510100",
                "service_date": (base + dt.timedelta(days=rnd.randrange(365))).isoformat(),
                "hospital": {"code": f"H{p % 50:04d}", "region_code": "440105", "designated": p % 25 != 0},
                "cross_region_filing": None,
                "disease": disease,
                "items": items,
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return certs, claims


def main() -> None:
    """Generate, import, settle; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--claims", type=int, default=200_000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    from agent.core.catalog import load_catalog
    from agent.core.items import items_path, load_items
    from agent.core.settlement import load_settlement, settlement_path
    from agent.registry.certs import import_certifications
    from agent.registry.store import open_registry
    from agent.settle.service import settle_file

    with tempfile.TemporaryDirectory(prefix="certreview-bench-settle-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        certs, claims = write_inputs(folder, args.claims)
        items_n = sum(len(json.loads(line)["items"]) for line in claims.open(encoding="utf-8"))
        print(f"generated {args.claims} claims ({items_n} items) in {time.perf_counter() - t0:.1f} s")
        settings = Settings(home=folder / "home", database_url=args.database_url)
        reg = open_registry(settings)
        catalog = load_catalog(settings.catalog_path)
        t0 = time.perf_counter()
        import_certifications(reg, certs, catalog)
        print(f"imported the certifications in {time.perf_counter() - t0:.1f} s")
        table = load_items(items_path(settings.catalog_path))
        policy = load_settlement(settlement_path(settings.catalog_path))
        t0, c0 = time.perf_counter(), time.process_time()
        run = settle_file(reg, claims, policy, table, catalog)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        reg.close()
        s = run.summary
        print(
            f"settled {s['claims']} claims on {reg.dialect}: {seconds:.1f} s total (CPU {cpu:.1f} s), "
            f"{s['claims'] / seconds:.0f} claims/s "
            f"(fund {s['fund']}, {s['payable']} payable, bad lines {s['bad_lines']})"
        )


if __name__ == "__main__":
    main()
