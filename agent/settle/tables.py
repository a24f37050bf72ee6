"""The settlement's tables in the registry (created by migration 0002): each settled claim's
result keyed by claim_id, with its input and the inputs' hash, and the per-person accumulators
(the deductible and each disease's fund, per calendar year or month)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.registry.tables import Base


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SettlementResult(Base):
    """One settled claim: the result as output (JSON), the claim it was computed from (JSON, so
    that ``--resettle`` can recompute the person's year in order) and the inputs' sha256."""

    __tablename__ = "settlement_results"
    __table_args__ = (Index("ix_settlement_results_person_year", "id_number", "year"),)

    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(30))
    year: Mapped[int] = mapped_column(Integer)
    service_date: Mapped[dt.date] = mapped_column(Date)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    claim_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text)
    settled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SettlementAccumulator(Base):
    """What a person has used in a period: ``period`` is ``2025`` (a year) or ``2025-03`` (a
    month); ``bucket`` the deductible (起付标准) or a disease's fund. Amounts are decimal text, so
    no database rounds them through a float."""

    __tablename__ = "settlement_accumulators"

    id_number: Mapped[str] = mapped_column(String(30), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    used: Mapped[str] = mapped_column(String(20))
