"""Certifications: validity arithmetic (CLAIMS.md §1), status on a date, the import of existing
certifications, and the read-only lookup check 6 consults (``CertificationSource``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, or_, select, text, update

from agent.core.catalog import Catalog
from agent.core.models import ExistingCertification, SignOffState
from agent.extract.dates import add_months
from agent.registry.lines import BadLine, CertificationLine, read_lines
from agent.registry.store import Registry
from agent.registry.tables import Certification, Person, ReviewDecision

VALIDITY_MONTHS = 24  # reference default; the catalogue's validity_months overrides it
RENEWAL_MONTHS = 6
CHUNK = 500  # rows per IN (...) lookup: well inside every backend's parameter limit


def catalog_months(catalog: Catalog | None, key: str, default: int) -> int:
    """A months parameter of the catalogue (plain value or a typed parameter with ``.value``)."""
    if catalog is None:
        return default
    params: Any = catalog.parameters
    raw = params.get(key, default) if isinstance(params, dict) else getattr(params, key, default)
    return int(getattr(raw, "value", raw))


def canonical_disease(catalog: Catalog | None, name: str | None) -> str | None:
    """The catalogue's name for ``name`` (an alias becomes the disease's name); else ``name``."""
    found = catalog.disease(name) if catalog is not None else None
    return found.name if found is not None else name


def valid_until(valid_from: dt.date, months: int = VALIDITY_MONTHS) -> dt.date:
    """The last valid day: the day before the same date ``months`` later (2025-06-03 → 2027-06-02)."""
    return add_months(valid_from, months) - dt.timedelta(days=1)


def status_on(cert: Certification, on: dt.date) -> tuple[str, str | None]:
    """(``active`` | ``expired`` | ``exited`` | ``pending``, why) of ``cert`` on ``on``."""
    if cert.exit_date is not None and cert.exit_date <= on:
        return "exited", cert.exit_reason
    if on > cert.valid_until:
        return "expired", None
    if on < cert.valid_from:
        return "pending", None
    return "active", None


def covering(on: dt.date) -> Any:
    """SQL condition: the certification covers ``on`` (CLAIMS.md §2)."""
    c = Certification
    return and_(c.valid_from <= on, c.valid_until >= on, or_(c.exit_date.is_(None), c.exit_date > on))


def _assigned_id(line: CertificationLine) -> str:
    """A stable id for a line without one, so importing it twice still changes nothing."""
    key = f"{line.id_number}|{line.disease}|{line.valid_from.isoformat()}"
    return "CERT-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16].upper()


@dataclass
class ImportReport:
    """What an import did: rows added, rows already there, bad lines."""

    added: int = 0
    unchanged: int = 0
    bad: list[BadLine] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """Some lines were not imported."""
        return bool(self.bad)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "bad_lines": [{"line": b.line, "field": b.field, "message": b.message} for b in self.bad],
            "unmatched": self.unmatched,
        }


def _existing(session: Any, column: Any, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already stored (Core, in chunks: no ORM objects for a bulk check)."""
    conn = session.connection()
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        found.update(conn.execute(select(column).where(column.in_(keys[i : i + CHUNK]))).scalars())
    return found


def bulk_insert(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany through Core (the ORM's bulk path costs several times more per row)."""
    if not rows:
        return
    conn = session.connection()
    conn.execute(table.__table__.insert(), rows)
    if len(rows) >= 1000 and conn.dialect.name == "postgresql":
        # fresh statistics before the updates that follow: on a table the planner has never seen
        # filled it picks sequential scans, and per-person updates turn quadratic
        conn.execute(text(f"ANALYZE {table.__tablename__}"))


def mark_renewed(session: Any, id_numbers: Sequence[str]) -> None:
    """Recompute ``renewed`` for these persons' certifications: a later one of the same disease
    that still stands (not revoked on its first day) renews it."""
    table: Any = Certification.__table__
    later = table.alias("later")
    successor = (
        select(later.c.id)
        .where(
            later.c.id_number == table.c.id_number,
            later.c.disease == table.c.disease,
            later.c.valid_from > table.c.valid_from,
            or_(later.c.exit_date.is_(None), later.c.exit_date > later.c.valid_from),
        )
        .exists()
    )
    conn = session.connection()
    keys = list(id_numbers)
    for i in range(0, len(keys), CHUNK):
        conn.execute(update(table).where(table.c.id_number.in_(keys[i : i + CHUNK])).values(renewed=successor))


def import_certifications(reg: Registry, path: Path, catalog: Catalog | None = None) -> ImportReport:
    """Add the certifications of a ``certifications.jsonl``; a line already imported changes nothing."""
    good, bad = read_lines(path, CertificationLine)
    report = ImportReport(bad=bad)
    months = catalog_months(catalog, "validity_months", VALIDITY_MONTHS)
    rows: dict[str, dict[str, Any]] = {}
    people: dict[str, dict[str, Any]] = {}
    for lineno, line in good:
        until = line.valid_until or valid_until(line.valid_from, months)
        if until < line.valid_from:
            report.bad.append(BadLine(lineno, "valid_until", "is before valid_from"))
            continue
        disease = canonical_disease(catalog, line.disease) or line.disease
        cid = line.certification_id or _assigned_id(line)
        if cid in rows:
            report.unchanged += 1
            continue
        rows[cid] = {
            "certification_id": cid,
            "id_number": line.id_number,
            "disease": disease,
            "icd10": line.icd10,
            "valid_from": line.valid_from,
            "valid_until": until,
            "institution": line.institution,
            "institution_code": line.institution_code,
            "case_id": line.case_id,
        }
        people.setdefault(
            line.id_number,
            {"id_number": line.id_number, "name": line.name, "scheme": line.scheme, "region_code": line.region_code},
        )
    report.bad.sort(key=lambda b: b.line)
    now = dt.datetime.now(dt.timezone.utc)
    with reg.write() as s, s.begin():
        known = _existing(s, Person.id_number, list(people))
        new_people = [p | {"created_at": now} for k, p in people.items() if k not in known]
        bulk_insert(s, Person, new_people)
        there = _existing(s, Certification.certification_id, list(rows))
        new_rows = [r | {"created_at": now} for k, r in rows.items() if k not in there]
        bulk_insert(s, Certification, new_rows)
        mark_renewed(s, sorted({r["id_number"] for r in new_rows}))
    report.added = len(new_rows)
    report.unchanged += len(rows) - len(new_rows)
    return report


def active_query(id_number: str, disease: str | None, on: dt.date) -> Select[Any]:
    """Certifications of a person (and disease) that cover ``on``."""
    q = select(Certification).where(Certification.id_number == id_number, covering(on))
    return q.where(Certification.disease == disease) if disease else q


def current_decision_row(s: Any, case_id: str) -> ReviewDecision | None:
    """The case's current decision row: the one no later decision superseded."""
    q = select(ReviewDecision).where(ReviewDecision.case_id == case_id, ReviewDecision.superseded_by.is_(None))
    return s.scalars(q).first()


class RegistryCertifications:
    """The registry as review sees it, read-only: certifications by person, disease and date for
    check 6, and each case's current sign-off for the queue."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg

    def active_for(
        self, id_number: str, disease: str, on_date: dt.date, *, case_id: str | None = None
    ) -> list[ExistingCertification]:
        """Certifications covering ``on_date`` (an exited one no longer counts as held), except
        those issued on ``case_id``."""
        q = active_query(id_number, disease, on_date)
        if case_id is not None:
            q = q.where(or_(Certification.case_id.is_(None), Certification.case_id != case_id))
        with self.reg.read() as s:
            found: Iterable[Certification] = s.scalars(q)
            return [
                ExistingCertification(disease=c.disease, valid_from=c.valid_from, valid_until=c.valid_until)
                for c in found
            ]

    def current_decision(self, case_id: str) -> SignOffState | None:
        """The case's current decision (the one no later decision superseded), for the queue."""
        with self.reg.read() as s:
            d = current_decision_row(s, case_id)
            if d is None:
                return None
            return SignOffState(
                decision=d.decision,  # type: ignore[arg-type]  # the table holds the three decisions only
                reviewer=d.reviewer,
                decided_at=d.created_at.isoformat(),
                overrides=d.recommendation_decision != d.decision,
            )
