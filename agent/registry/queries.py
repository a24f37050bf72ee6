"""Reading the registry: one person's file, the renewals due, counts, and the exports
(CLAIMS.md §7: the national 2503 filing; CSV; certifications.jsonl that imports back)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from agent.core.catalog import Catalog
from agent.core.models import SignOffState
from agent.extract.dates import add_months
from agent.registry.certs import covering, status_on
from agent.registry.store import Registry
from agent.registry.tables import Certification, Person, ReviewDecision, StatusEvent

INSUTYPE = {"职工医保": "310", "居民医保": "390"}  # 险种类型 of the national dictionary
EXPORT_2503 = (
    "psn_no",
    "insutype",
    "opsp_dise_code",
    "opsp_dise_name",
    "insu_optins",
    "ide_fixmedins_no",
    "ide_fixmedins_name",
    "hosp_ide_date",
    "diag_dr_codg",
    "diag_dr_name",
    "begndate",
    "enddate",
)
CERT_FIELDS = (
    "certification_id",
    "id_number",
    "name",
    "scheme",
    "region_code",
    "disease",
    "icd10",
    "valid_from",
    "valid_until",
    "institution",
    "case_id",
)


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date | dt.datetime) else v


def cert_dict(c: Certification, on: dt.date) -> dict[str, Any]:
    """A certification with its status on ``on`` and, when it ended early, why."""
    status, why = status_on(c, on)
    return {
        "certification_id": c.certification_id,
        "disease": c.disease,
        "icd10": c.icd10,
        "valid_from": _iso(c.valid_from),
        "valid_until": _iso(c.valid_until),
        "institution": c.institution,
        "case_id": c.case_id,
        "reviewer": c.reviewer,
        "status": status,
        "exit_reason": why,
        "exit_date": _iso(c.exit_date),
        "exit_event_id": c.exit_event_id,
    }


def show_person(reg: Registry, id_number: str, on: dt.date) -> dict[str, Any] | None:
    """Everything the registry holds on one person; None when it holds nothing."""
    with reg.read() as s:
        person = s.get(Person, id_number)
        certs = s.scalars(
            select(Certification).where(Certification.id_number == id_number).order_by(Certification.valid_from)
        ).all()
        decisions = s.scalars(
            select(ReviewDecision).where(ReviewDecision.id_number == id_number).order_by(ReviewDecision.id)
        ).all()
        events = s.scalars(
            select(StatusEvent).where(StatusEvent.id_number == id_number).order_by(StatusEvent.date)
        ).all()
    if person is None and not decisions and not events:
        return None
    return {
        "id_number": id_number,
        "name": person.name if person else None,
        "scheme": person.scheme if person else None,
        "region_code": person.region_code if person else None,
        "as_of": on.isoformat(),
        "certifications": [cert_dict(c, on) for c in certs],
        "decisions": [
            {
                "decision_id": d.id,
                "case_id": d.case_id,
                "decision": d.decision,
                "reviewer": d.reviewer,
                "reason": d.reason,
                "recommendation_decision": d.recommendation_decision,
                "recommendation_sha256": d.recommendation_sha256,
                "superseded_by": d.superseded_by,
                "created_at": _iso(d.created_at),
            }
            for d in decisions
        ],
        "events": [
            {"event_id": e.event_id, "type": e.type, "date": _iso(e.date), "matched": e.matched} for e in events
        ],
    }


def renewals(reg: Registry, on: dt.date, within_months: int, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
    """Active certifications that expire within ``within_months`` of ``on`` and have no successor
    of the same person and disease yet: (how many in all, the first ``limit``, oldest expiry first)."""
    c = Certification
    until = add_months(on, within_months)
    where = (covering(on), c.valid_until <= until, c.renewed.is_(False))
    with reg.read() as s:
        total = s.scalar(select(func.count()).select_from(c).where(*where)) or 0
        q = (
            select(c, Person.name)
            .join(Person, Person.id_number == c.id_number)
            .where(*where)
            .order_by(c.valid_until, c.id)  # the index order (rowid breaks ties): no sort of all matches
            .limit(limit)
        )
        rows = s.execute(q).all()
    out = [
        {**cert_dict(cert, on), "id_number": cert.id_number, "name": name, "days_left": (cert.valid_until - on).days}
        for cert, name in rows
    ]
    return total, out


def stats(reg: Registry, on: dt.date) -> dict[str, Any]:
    """Counts: persons, certifications by status, decisions (current, overrides), events."""
    c = Certification
    with reg.read() as s:
        persons = s.scalar(select(func.count()).select_from(Person)) or 0
        total = s.scalar(select(func.count()).select_from(c)) or 0
        active = s.scalar(select(func.count()).select_from(c).where(covering(on))) or 0
        exited = s.scalar(select(func.count()).select_from(c).where(c.exit_date <= on)) or 0
        pending = s.scalar(select(func.count()).select_from(c).where(c.valid_from > on, c.exit_date.is_(None))) or 0
        by_reason = dict(
            s.execute(select(c.exit_reason, func.count()).where(c.exit_date <= on).group_by(c.exit_reason)).all()
        )
        d = ReviewDecision
        current = d.superseded_by.is_(None)
        decided = s.scalar(select(func.count()).select_from(d).where(current)) or 0
        overrides = (
            s.scalar(select(func.count()).select_from(d).where(current, d.decision != d.recommendation_decision)) or 0
        )
        events = s.scalar(select(func.count()).select_from(StatusEvent)) or 0
        unmatched = s.scalar(select(func.count()).select_from(StatusEvent).where(StatusEvent.matched.is_(False))) or 0
    return {
        "as_of": on.isoformat(),
        "persons": persons,
        "certifications": {
            "total": total,
            "active": active,
            "expired": total - active - exited - pending,
            "exited": exited,
            "pending": pending,
            "exited_by_reason": by_reason,
        },
        "decisions": {"current": decided, "overrides": overrides},
        "events": {"total": events, "unmatched": unmatched},
    }


def _active_rows(reg: Registry, on: dt.date, active_only: bool) -> Iterator[tuple[Certification, Person]]:
    q = select(Certification, Person).join(Person, Person.id_number == Certification.id_number)
    if active_only:
        q = q.where(covering(on))
    with reg.read() as s:
        yield from s.execute(
            q.order_by(Certification.id_number, Certification.valid_from).execution_options(yield_per=2000)
        )


def filing_2503(c: Certification, p: Person, catalog: Catalog | None) -> dict[str, Any]:
    """One 2503 人员慢特病备案 record (DOMAIN.md §4.1) of an active certification."""
    disease = catalog.disease(c.disease) if catalog else None
    return {
        "psn_no": c.id_number,
        "insutype": INSUTYPE.get(p.scheme or ""),
        "opsp_dise_code": disease.national_code if disease else None,
        "opsp_dise_name": disease.name if disease else c.disease,
        "insu_optins": p.region_code,
        "ide_fixmedins_no": c.institution_code,
        "ide_fixmedins_name": c.institution,
        "hosp_ide_date": _iso(c.valid_from),
        "diag_dr_codg": None,  # the signing physician is not in the case folder yet
        "diag_dr_name": None,
        "begndate": _iso(c.valid_from),
        "enddate": _iso(c.valid_until),
    }


def _jsonl_line(c: Certification, p: Person) -> dict[str, Any]:
    values = {"name": p.name, "scheme": p.scheme, "region_code": p.region_code}
    return {k: _iso(values[k] if k in values else getattr(c, k)) for k in CERT_FIELDS}


def export(reg: Registry, fmt: str, on: dt.date, catalog: Catalog | None) -> Iterator[str]:
    """The export as text chunks: ``2503`` (JSON Lines of active certifications' filings), ``csv``
    and ``jsonl`` (every certification; jsonl in the import format)."""
    if fmt == "2503":
        for c, p in _active_rows(reg, on, True):
            yield json.dumps(filing_2503(c, p, catalog), ensure_ascii=False) + "\n"
    elif fmt == "jsonl":
        for c, p in _active_rows(reg, on, False):
            yield json.dumps(_jsonl_line(c, p), ensure_ascii=False) + "\n"
    else:
        cols = [*CERT_FIELDS, "status", "exit_date", "exit_reason"]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        for c, p in _active_rows(reg, on, False):
            status, why = status_on(c, on)
            w.writerow([*_jsonl_line(c, p).values(), status, _iso(c.exit_date), why])
            if buf.tell() > 1 << 16:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()


def current_decisions(reg: Registry, case_ids: list[str]) -> dict[str, SignOffState]:
    """The current (not superseded) decision of each of ``case_ids`` that has one: one query per
    500 ids, for a queue of many cases (the workbench shows them on every load)."""
    d = ReviewDecision
    out: dict[str, SignOffState] = {}
    with reg.read() as s:
        for i in range(0, len(case_ids), 500):
            q = select(d).where(d.case_id.in_(case_ids[i : i + 500]), d.superseded_by.is_(None))
            for row in s.scalars(q):
                out[row.case_id] = SignOffState(
                    decision=row.decision,  # type: ignore[arg-type]  # the table holds the three decisions only
                    reviewer=row.reviewer,
                    decided_at=row.created_at.isoformat(),
                    overrides=row.recommendation_decision != row.decision,
                )
    return out
