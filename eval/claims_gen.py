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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T, D, OT, H, G = "恶性肿瘤门诊治疗", "尿毒症透析", "器官移植术后抗排异治疗", "高血压（伴并发症）", "糖尿病（伴并发症）"
# per disease: the drugs of a routine monthly claim (one per class group) and their catalogue class
ROUTINE: dict[str, list[tuple[str, str]]] = {
    T: [("卡培他滨", "乙"), ("来曲唑", "乙")],
    D: [("司维拉姆", "乙"), ("骨化三醇", "甲")],
    OT: [("吗替麦考酚酯", "乙"), ("西罗莫司", "乙")],
    H: [("氨氯地平", "甲"), ("美托洛尔", "甲")],
    G: [("二甲双胍", "甲"), ("西格列汀", "乙")],
}
SERVICE = {D: "血液透析", T: "调强放射治疗"}
START = dt.date(2025, 1, 6)
VALID = (dt.date(2024, 7, 1), dt.date(2026, 6, 30))
# hospitals: code -> region (3709 泰安 has two districts; 3701 济南; 1101 北京)
HOSPITALS = {
    "H370902001": "370902",
    "H370902002": "370902",
    "H370911001": "370911",
    "H370911002": "370911",
    "H370102001": "370102",
    "H110105001": "110105",
}
LOCAL = ["H370902001", "H370902002", "H370911001", "H370911002"]


@dataclass
class World:
    """What is written: the lines of each file and the gold flags."""

    rng: random.Random
    certs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    flags: list[tuple[str, str]] = field(default_factory=list)
    persons: int = 0
    n_claims: int = 0
    n_events: int = 0
    planted: dict[str, int] = field(default_factory=dict)
    near: dict[str, int] = field(default_factory=dict)

    def person(self, disease: str | None, valid: tuple[dt.date, dt.date] | None = VALID) -> str:
        """A new person, certified for ``disease`` over ``valid`` (none when either is None)."""
        self.persons += 1
        pid = f"37090219{60 + self.persons % 30:02d}0101{self.persons:06d}"
        if disease and valid:
            self.certs.append(
                {
                    "certification_id": f"CERT-{len(self.certs) + 1:07d}",
                    "id_number": pid,
                    "name": "测试人员",
                    "scheme": "职工医保",
                    "region_code": "370900",
                    "disease": disease,
                    "icd10": None,
                    "valid_from": valid[0].isoformat(),
                    "valid_until": valid[1].isoformat(),
                    "institution": "泰安市中心医院",
                    "case_id": None,
                }
            )
        return pid

    def event(self, pid: str, typ: str, day: dt.date) -> None:
        """A status event of ``pid``."""
        self.n_events += 1
        self.events.append({"event_id": f"EV-{self.n_events:07d}", "type": typ, "id_number": pid, "date": str(day)})

    def claim(
        self,
        pid: str,
        disease: str,
        day: dt.date,
        items: list[tuple[str, str, int | None]],
        hospital: str = "H370902001",
        flags: tuple[str, ...] = (),
    ) -> str:
        """A claim of ``pid`` with ``items`` (generic, class, days_supply); ``flags`` are the rules
        that must flag it."""
        self.n_claims += 1
        cid = f"CL-{self.n_claims:08d}"
        self.claims.append(
            {
                "claim_id": cid,
                "id_number": pid,
                "scheme": "职工医保",
                "insured_region_code": "370900",
                "service_date": day.isoformat(),
                "hospital": {
                    "code": hospital,
                    "name": f"医院{hospital[-4:]}",
                    "region_code": HOSPITALS[hospital],
                    "designated": True,
                },
                "cross_region_filing": None,
                "disease": disease,
                "items": [
                    {"generic": g, "name": g, "category": cat, "amount": f"{self.rng.randint(2000, 90000) / 100:.2f}"}
                    | ({"days_supply": ds} if ds is not None else {})
                    for g, cat, ds in items
                ],
            }
        )
        self.flags += [(r, cid) for r in flags]
        return cid


def routine(disease: str, ds: int = 30) -> list[tuple[str, str, int | None]]:
    """A routine claim's items for ``disease`` (one drug per class group, a service for D/T)."""
    items: list[tuple[str, str, int | None]] = [(g, c, ds) for g, c in ROUTINE[disease]]
    if disease in SERVICE:
        items.append((SERVICE[disease], "甲", None))
    return items


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


def _d(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


# ---------------------------------------------------------------- planted instances and near-misses
def sv01(w: World, k: int) -> None:
    """No certification covers the date: none at all, after valid_until, another disease."""
    kind = k % 3
    if kind == 0:
        pid = w.person(None)
        w.claim(pid, H, _d(10 + k), routine(H), flags=("SV01",))
    elif kind == 1:
        pid = w.person(G, (dt.date(2023, 3, 1), _d(40 + k)))
        w.claim(pid, G, _d(40 + k), routine(G))  # on valid_until: covered
        w.claim(pid, G, _d(41 + k + 30), routine(G), flags=("SV01",))
    else:
        pid = w.person(H)
        w.claim(pid, G, _d(5 + k), routine(G), flags=("SV01",))


def sv01_near(w: World, k: int) -> None:
    """Covered on valid_from and on valid_until exactly."""
    start = _d(3 + k)
    pid = w.person(T, (start, start + dt.timedelta(days=40)))
    w.claim(pid, T, start, routine(T))
    w.claim(pid, T, start + dt.timedelta(days=40), routine(T))


def sv02(w: World, k: int) -> None:
    """Claims on and after the date of death, certified or not (SV01/SV03 do not apply)."""
    disease = [OT, D, H][k % 3]
    pid = w.person(disease if k % 4 else None)
    death = _d(60 + k)
    if k % 4:  # certified: an earlier claim is covered
        w.claim(pid, disease, death - dt.timedelta(days=31), routine(disease))
    w.claim(pid, disease, death + dt.timedelta(days=k % 2 * 5), routine(disease), flags=("SV02",))
    w.event(pid, "death", death)


def sv02_near(w: World, k: int) -> None:
    """A claim the day before death is covered."""
    pid = w.person(H)
    death = _d(90 + k)
    w.claim(pid, H, death - dt.timedelta(days=1), routine(H))
    w.event(pid, "death", death)


def sv03(w: World, k: int) -> None:
    """Claims on or after an exit by insurance stopped / moved out."""
    disease = [G, T, OT][k % 3]
    pid = w.person(disease)
    exit_day = _d(50 + k)
    w.claim(pid, disease, exit_day - dt.timedelta(days=40), routine(disease))
    w.event(pid, ["insurance_stopped", "moved_out"][k % 2], exit_day)
    w.claim(pid, disease, exit_day + dt.timedelta(days=k % 3 * 10), routine(disease), flags=("SV03",))


def sv03_near(w: World, k: int) -> None:
    """The day before the exit is covered; insurance_resumed ends nothing."""
    pid = w.person(H)
    exit_day = _d(70 + k)
    w.event(pid, "moved_out", exit_day)
    w.claim(pid, H, exit_day - dt.timedelta(days=1), routine(H))
    pid2 = w.person(G)
    w.event(pid2, "insurance_resumed", _d(20 + k))
    w.claim(pid2, G, _d(25 + k), routine(G))


MISMATCH = [
    (H, "他克莫司", "乙"),
    (G, "奥希替尼", "乙"),
    (D, "氨氯地平", "甲"),
    (T, "二甲双胍", "甲"),
    (OT, "血液透析", "甲"),
]


def sv04(w: World, k: int) -> None:
    """An item of the table whose diseases do not include the claim's disease."""
    disease, generic, cat = MISMATCH[k % len(MISMATCH)]
    pid = w.person(disease)
    ds = None if generic in SERVICE.values() else 30
    w.claim(pid, disease, _d(15 + k), [*routine(disease), (generic, cat, ds)], flags=("SV04",))


def sv04_near(w: World, k: int) -> None:
    """An ARB on a diabetes claim (its diseases are H and G); an item not in the table."""
    pid = w.person(G)
    extra = ("缬沙坦", "乙", 30) if k % 2 else ("维生素C", "丙", 30)
    w.claim(pid, G, _d(15 + k), [*routine(G), extra])


def sv05(w: World, k: int) -> None:
    """One item with more than 30 days' supply (the person's last fill of it)."""
    disease = list(ROUTINE)[k % 5]
    pid = w.person(disease)
    items = routine(disease)
    g, c, _ = items[0]
    items[0] = (g, c, 31 + k * 3)
    w.claim(pid, disease, _d(100 + k), items, flags=("SV05",))


def sv05_near(w: World, k: int) -> None:
    """Exactly 30 days' supply."""
    pid = w.person(H)
    w.claim(pid, H, _d(100 + k), routine(H, ds=30))


def sv06(w: World, k: int) -> None:
    """The same generic again before 80 % of the previous supply, at the same or another hospital."""
    disease = list(ROUTINE)[k % 5]
    pid = w.person(disease)
    prev_ds = [30, 28, 20][k % 3]
    limit = (prev_ds * 8 + 9) // 10  # smallest gap that is not early
    first = _d(30 + k)
    w.claim(pid, disease, first, routine(disease, prev_ds))
    gap = limit - 1 - k % 4
    hosp = LOCAL[k % 2 + 1] if k % 2 else "H370902001"
    w.claim(pid, disease, first + dt.timedelta(days=gap), routine(disease, 30), hosp, flags=("SV06",))


def sv06_near(w: World, k: int) -> None:
    """A refill exactly at 80 % of the previous supply; services repeated every few days."""
    disease = [H, D][k % 2]
    pid = w.person(disease)
    prev_ds = [30, 20][k % 2]
    first = _d(30 + k)
    w.claim(pid, disease, first, routine(disease, prev_ds))
    w.claim(pid, disease, first + dt.timedelta(days=prev_ds * 8 // 10), routine(disease, 30))
    if disease == D:
        w.claim(pid, D, first + dt.timedelta(days=prev_ds * 8 // 10 + 3), [("血液透析", "甲", None)])


HIGH_VALUE = {OT: ("他克莫司", "乙"), T: ("奥希替尼", "乙"), G: ("利拉鲁肽", "乙")}


def sv07(w: World, k: int) -> None:
    """A high-value drug at 3 (or 4) hospitals, first to last fill ≤ 29 days apart."""
    disease = list(HIGH_VALUE)[k % 3]
    g, c = HIGH_VALUE[disease]
    pid = w.person(disease)
    first = _d(20 + k)
    offsets = [0, 10, 29] if k % 2 else [0, 9, 18, 27]
    hosps = LOCAL[: len(offsets)] if k % 2 else [*LOCAL[:3], LOCAL[0]]
    for off, hosp in zip(offsets, hosps, strict=True):
        w.claim(pid, disease, first + dt.timedelta(days=off), [(g, c, 9)], hosp, flags=("SV07",))


def sv07_near(w: World, k: int) -> None:
    """Three hospitals 30 days apart; two hospitals within the window; a drug that is not high-value."""
    disease = list(HIGH_VALUE)[k % 3]
    g, c = HIGH_VALUE[disease]
    pid = w.person(disease)
    first = _d(20 + k)
    kind = k % 3
    if kind == 0:
        plan = [(0, LOCAL[0]), (15, LOCAL[1]), (30, LOCAL[2])]
    elif kind == 1:
        plan = [(0, LOCAL[0]), (10, LOCAL[1]), (20, LOCAL[0])]
    else:
        g, c = "卡培他滨", "乙"
        disease = T
        w.certs[-1]["disease"] = T
        plan = [(0, LOCAL[0]), (10, LOCAL[1]), (20, LOCAL[2])]
    for off, hosp in plan:
        w.claim(pid, disease, first + dt.timedelta(days=off), [(g, c, 9)], hosp)


def sv08(w: World, k: int) -> None:
    """Claims on one date at hospitals of two cities (different drugs, so no early refill)."""
    disease = [H, G][k % 2]
    pid = w.person(disease)
    day = _d(40 + k)
    far = ["H370102001", "H110105001"][k % 2]
    (a, ca, _), (b, cb, _) = routine(disease)[:2]
    w.claim(pid, disease, day, [(a, ca, 30)], LOCAL[k % 4], flags=("SV08",))
    w.claim(pid, disease, day, [(b, cb, 30)], far, flags=("SV08",))


def sv08_near(w: World, k: int) -> None:
    """Two districts of one city on one day; two cities on consecutive days."""
    disease = [H, G][k % 2]
    pid = w.person(disease)
    day = _d(40 + k)
    (a, ca, _), (b, cb, _) = routine(disease)[:2]
    w.claim(pid, disease, day, [(a, ca, 30)], "H370902001")
    w.claim(pid, disease, day + dt.timedelta(days=k % 2), [(b, cb, 30)], "H370911001" if k % 2 == 0 else "H370102001")


DUPLICATES = [
    (H, [("氨氯地平", "甲"), ("硝苯地平", "甲")]),
    (H, [("缬沙坦", "乙"), ("厄贝沙坦", "乙")]),
    (T, [("卡培他滨", "乙"), ("替吉奥", "乙")]),
    (OT, [("他克莫司", "乙"), ("环孢素", "乙")]),
    (G, [("达格列净", "乙"), ("恩格列净", "乙")]),
]


def sv09(w: World, k: int) -> None:
    """Two generics of one class group in one claim."""
    disease, pair = DUPLICATES[k % len(DUPLICATES)]
    pid = w.person(disease)
    w.claim(pid, disease, _d(60 + k), [(g, c, 30) for g, c in pair], flags=("SV09",))


def sv09_near(w: World, k: int) -> None:
    """Two groups in one claim; the same generic on two lines of one claim."""
    pid = w.person(H)
    items: list[tuple[str, str, int | None]] = (
        [("氨氯地平", "甲", 30), ("缬沙坦", "乙", 30)] if k % 2 else [("氨氯地平", "甲", 15), ("氨氯地平", "甲", 15)]
    )
    w.claim(pid, H, _d(60 + k), items)


PLANTS: dict[str, tuple[Callable[[World, int], None], Callable[[World, int], None]]] = {
    "SV01": (sv01, sv01_near),
    "SV02": (sv02, sv02_near),
    "SV03": (sv03, sv03_near),
    "SV04": (sv04, sv04_near),
    "SV05": (sv05, sv05_near),
    "SV06": (sv06, sv06_near),
    "SV07": (sv07, sv07_near),
    "SV08": (sv08, sv08_near),
    "SV09": (sv09, sv09_near),
}
# malformed lines and the field each breaks (None: not JSON)
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
