"""A synthetic claims set for supervision (shared/CLAIMS.md §1–3, §5): background persons whose
monthly claims break no rule, planted instances of every rule SV01–SV09 and near-misses that
must not be flagged, each in a person of its own so that the labels are exact by construction;
a few malformed lines with their line number and field.

    python -m eval.claims_gen OUT_DIR [--seed 7] [--persons 200] [--planted 16] [--near 8]

Writes certifications.jsonl, events.jsonl, claims.jsonl, expected_flags.jsonl,
expected_bad_lines.jsonl and README.md (no expected_settlement.jsonl: settlement is labelled
elsewhere)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.claims_plants import PLANTS
from eval.claims_world import LOCAL, ROUTINE, START, World, routine


def background(w: World, n: int, months: int = 12) -> None:
    """Persons with monthly claims at one local hospital that break no rule."""
    for _ in range(n):
        disease = w.rng.choice(list(ROUTINE))
        pid = w.person(disease)
        hosp = w.rng.choice(LOCAL)
        day = START + dt.timedelta(days=w.rng.randint(0, 20))
        for _ in range(months):
            w.claim(pid, disease, day, routine(disease), hosp)
            day += dt.timedelta(days=w.rng.randint(28, 35))


BAD = [
    ('{"claim_id": "CL-BAD-1", "id_number": ', None),
    ("items.0.amount", "items.0.amount"),
    ("service_date", "service_date"),
    ("hospital", "hospital"),
]


def _broken(w: World, what: str) -> str:
    good = dict(w.claims[0])
    good["claim_id"] = f"CL-BAD-{what}"
    if what == "items.0.amount":
        good["items"] = [dict(good["items"][0], amount="12.345")]
    elif what == "service_date":
        good["service_date"] = "2025-02-30"
    elif what == "hospital":
        del good["hospital"]
    return json.dumps(good, ensure_ascii=False)


def _lines(w: World) -> list[tuple[str, str | None, bool]]:
    """(text, bad field, is bad) per claims line: the claims shuffled, the malformed lines put
    at random places among them."""
    order = list(w.claims)
    w.rng.shuffle(order)
    lines: list[tuple[str, str | None, bool]] = [(json.dumps(c, ensure_ascii=False), None, False) for c in order]
    for text, fld in BAD:
        line = text if fld is None else _broken(w, text)
        lines.insert(w.rng.randint(0, len(lines)), (line, fld, True))
    return lines


def generate(out: Path, seed: int = 7, persons: int = 200, planted: int = 16, near: int = 8, months: int = 12) -> World:
    """Write a claims set into ``out``; returns what was written."""
    w = World(random.Random(seed))
    background(w, persons, months)
    for rule, (plant, miss) in PLANTS.items():
        for k in range(planted):
            plant(w, k)
        for k in range(near):
            miss(w, k)
        w.planted[rule], w.near[rule] = planted, near
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "certifications.jsonl", w.certs)
    _write(out / "events.jsonl", w.events)
    bad = []
    with (out / "claims.jsonl").open("w", encoding="utf-8") as fh:
        for n, (text, fld, is_bad) in enumerate(_lines(w), 1):
            fh.write(text + "\n")
            if is_bad:
                bad.append({"line": n, "field": fld})
    _write(out / "expected_bad_lines.jsonl", bad)
    _write(out / "expected_flags.jsonl", [{"rule": r, "claim_id": c} for r, c in sorted(set(w.flags))])
    (out / "README.md").write_text(_readme(w, seed, persons, planted, near), encoding="utf-8")
    return w


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _doc(fn: Callable[[World, int], None]) -> str:
    return " ".join((fn.__doc__ or "").split())


def _readme(w: World, seed: int, persons: int, planted: int, near: int) -> str:
    rows = "\n".join(
        f"| {r} | {w.planted[r]} | {sum(1 for x, _ in w.flags if x == r)} | {w.near[r]} | {_doc(PLANTS[r][1])} |"
        for r in PLANTS
    )
    return f"""# Generated supervision set (eval/claims_gen.py, seed {seed})

`python -m eval.claims_gen DIR --seed {seed} --persons {persons} --planted {planted} --near {near}` writes it again.

{persons} background persons with monthly claims at one local hospital that break no rule
(days' supply 30, refills 28–35 days apart, one generic per class group). Every planted instance
and near-miss is a person of its own, so the gold flags (`expected_flags.jsonl`, one line per
(rule, claim_id) pair, labelled from shared/CLAIMS.md §5 alone) are exact by construction.
{len(BAD)} malformed claims lines (`expected_bad_lines.jsonl`) are spread through the file.

| rule | planted instances | flagged pairs | near-misses | near-misses are |
|---|---|---|---|---|
{rows}

Supervision has no "as of" date: statuses are those of the imported events.
"""


def main() -> None:
    """Command line: write a set."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--persons", type=int, default=200)
    ap.add_argument("--planted", type=int, default=16)
    ap.add_argument("--near", type=int, default=8)
    a = ap.parse_args()
    w = generate(a.out, a.seed, a.persons, a.planted, a.near)
    print(f"{a.out}: {len(w.claims)} claims, {len(set(w.flags))} gold flags, {len(w.certs)} certifications")


if __name__ == "__main__":
    main()
