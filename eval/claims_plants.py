"""Planted instances of every rule SV01–SV09 (shared/CLAIMS.md §5) and near-misses that must not
be flagged, each in a person of its own so that the gold labels are exact by construction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from eval.claims_world import LOCAL, OT, ROUTINE, SERVICE, D, G, H, T, World, _d, routine


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
