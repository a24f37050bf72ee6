"""The registry's tables as SQLAlchemy 2 typed models. The schema itself is created and changed
only by the Alembic migrations in ``migrations/versions``; these classes describe it for queries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the registry."""


class Person(Base):
    """An insured person, keyed by the resident ID number (the 2503 filing's psn_no here)."""

    __tablename__ = "persons"

    id_number: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    scheme: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Certification(Base):
    """One certification: its validity, who signed it and, after an exit event, why it ended."""

    __tablename__ = "certifications"
    __table_args__ = (
        # both cover what renewals and the duplicate lookup read, so neither visits the table
        Index("ix_certifications_person_disease", "id_number", "disease", "valid_from", "exit_date"),
        Index("ix_certifications_valid_until", "valid_until", "valid_from", "exit_date", "renewed"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certification_id: Mapped[str] = mapped_column(String(64), unique=True)
    id_number: Mapped[str] = mapped_column(String(30), ForeignKey("persons.id_number"))
    disease: Mapped[str] = mapped_column(String(100))
    icd10: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    institution: Mapped[str | None] = mapped_column(String(200))
    institution_code: Mapped[str | None] = mapped_column(String(30))
    case_id: Mapped[str | None] = mapped_column(String(64))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    exit_date: Mapped[dt.date | None] = mapped_column(Date)
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    exit_event_id: Mapped[str | None] = mapped_column(String(64))
    # a later certification of the same person and disease exists (kept by certs.mark_renewed,
    # so listing renewals needs no per-row lookup)
    renewed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReviewDecision(Base):
    """A reviewer's sign-off beside the AI recommendation it was shown. At most one decision per
    case is current (``superseded_by`` null): a partial unique index, so two reviewers deciding
    at once cannot both win."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index(
            "uq_decisions_current_case",
            "case_id",
            unique=True,
            sqlite_where=text("superseded_by IS NULL"),
            postgresql_where=text("superseded_by IS NULL"),
        ),
        Index("ix_decisions_id_number", "id_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(30))
    disease: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    recommendation_decision: Mapped[str | None] = mapped_column(String(16))
    recommendation_sha256: Mapped[str] = mapped_column(String(64))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class StatusEvent(Base):
    """A status event from the 经办 feed (CLAIMS.md §2), kept whether or not it matched a person."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_person_date", "id_number", "date"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(String(30))
    date: Mapped[dt.date] = mapped_column(Date)
    matched: Mapped[bool] = mapped_column(default=False)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AuditAnchor(Base):
    """Where the audit log's head can be anchored outside the log (one row per log)."""

    __tablename__ = "audit_anchor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class LockRow(Base):
    """A held writer lock: who holds it and until when, unless renewed (a silent holder died)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
