"""Reading and writing what settlement keeps in the registry, in bulk (Core statements in
chunks, never one query per claim): the certifications of the persons in a file, the stored
results of its claim ids, and the persons' accumulators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from agent.registry.tables import Certification
from agent.settle.engine import Accumulators
from agent.settle.tables import SettlementAccumulator, SettlementResult

CHUNK = 500  # ids per IN (…): well under every database's parameter limit

Span = tuple[dt.date, dt.date, dt.date | None]  # valid_from, valid_until, exit_date


def chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    """``keys`` in slices of CHUNK."""
    for i in range(0, len(keys), CHUNK):
        yield keys[i : i + CHUNK]


def load_coverage(conn: Any, id_numbers: Sequence[str]) -> dict[tuple[str, str], list[Span]]:
    """Every certification of these persons, by (id_number, disease)."""
    c: Any = Certification.__table__.c
    out: dict[tuple[str, str], list[Span]] = {}
    for part in chunks(id_numbers):
        q = select(c.id_number, c.disease, c.valid_from, c.valid_until, c.exit_date).where(c.id_number.in_(part))
        for idn, disease, vf, vu, ex in conn.execute(q):
            out.setdefault((idn, disease), []).append((vf, vu, ex))
    return out


def covers(spans: Iterable[Span], day: dt.date) -> bool:
    """A certification covers ``day``: valid_from ≤ day ≤ valid_until and day < exit_date (CLAIMS.md §2)."""
    return any(vf <= day <= vu and (ex is None or day < ex) for vf, vu, ex in spans)


def load_results(conn: Any, claim_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """claim_id -> (inputs_sha256, result_json) of the claims already settled."""
    t: Any = SettlementResult.__table__.c
    out: dict[str, tuple[str, str]] = {}
    for part in chunks(claim_ids):
        for cid, sha, res in conn.execute(
            select(t.claim_id, t.inputs_sha256, t.result_json).where(t.claim_id.in_(part))
        ):
            out[cid] = (sha, res)
    return out


def load_year_claims(conn: Any, id_numbers: Sequence[str]) -> list[tuple[str, int, str, str]]:
    """(claim_id, year, id_number, claim_json) of every stored claim of these persons (``--resettle``)."""
    t: Any = SettlementResult.__table__.c
    out: list[tuple[str, int, str, str]] = []
    for part in chunks(id_numbers):
        q = select(t.claim_id, t.year, t.id_number, t.claim_json).where(t.id_number.in_(part))
        out.extend((cid, year, idn, js) for cid, year, idn, js in conn.execute(q))
    return out


def load_accumulators(conn: Any, id_numbers: Sequence[str]) -> Accumulators:
    """The accumulators of these persons, every period."""
    t: Any = SettlementAccumulator.__table__.c
    acc = Accumulators()
    for part in chunks(id_numbers):
        for idn, period, bucket, used in conn.execute(
            select(t.id_number, t.period, t.bucket, t.used).where(t.id_number.in_(part))
        ):
            acc.used[(idn, period, bucket)] = Decimal(used)
    return acc


def replace_results(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Store these results, replacing any stored under the same claim ids."""
    res: Any = SettlementResult.__table__
    for part in chunks([r["claim_id"] for r in rows]):
        conn.execute(delete(res).where(res.c.claim_id.in_(part)))
    if rows:
        conn.execute(res.insert(), rows)


def save_accumulators(conn: Any, acc: Accumulators, persons: Iterable[str]) -> None:
    """Replace the accumulators of ``persons`` whole by what ``acc`` holds for them."""
    acc_t: Any = SettlementAccumulator.__table__
    keep = sorted(set(persons))
    for part in chunks(keep):
        conn.execute(delete(acc_t).where(acc_t.c.id_number.in_(part)))
    mine = set(keep)
    fresh = [
        {"id_number": k[0], "period": k[1], "bucket": k[2], "used": str(v)} for k, v in acc.used.items() if k[0] in mine
    ]
    if fresh:
        conn.execute(acc_t.insert(), fresh)
