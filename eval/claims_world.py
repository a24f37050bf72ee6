"""The world a generated claims set is written from (eval/claims_gen.py): the diseases, routine
drugs, hospitals and validity the generator uses, and ``World``, which collects the lines of each
file and the gold flags of the planted claims."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
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


def _d(n: int) -> dt.date:
    return START + dt.timedelta(days=n)
