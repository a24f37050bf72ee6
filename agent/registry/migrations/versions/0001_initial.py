"""The first registry schema: persons, certifications, decisions, events, audit anchor.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_CURRENT = sa.text("superseded_by IS NULL")


def upgrade() -> None:
    """Create the tables and their indexes."""
    _persons_and_decisions()
    _certifications()
    _events_and_anchor()


def _persons_and_decisions() -> None:
    op.create_table(
        "persons",
        sa.Column("id_number", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("scheme", sa.String(20)),
        sa.Column("region_code", sa.String(6)),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("id_number", sa.String(30)),
        sa.Column("disease", sa.String(100)),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("recommendation_decision", sa.String(16)),
        sa.Column("recommendation_sha256", sa.String(64), nullable=False),
        sa.Column("superseded_by", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("created_at", _TS, nullable=False),
    )
    # the database, not the code, guarantees one current decision per case
    op.create_index(
        "uq_decisions_current_case",
        "decisions",
        ["case_id"],
        unique=True,
        sqlite_where=_CURRENT,
        postgresql_where=_CURRENT,
    )
    op.create_index("ix_decisions_id_number", "decisions", ["id_number"])


def _certifications() -> None:
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("certification_id", sa.String(64), nullable=False, unique=True),
        sa.Column("id_number", sa.String(30), sa.ForeignKey("persons.id_number"), nullable=False),
        sa.Column("disease", sa.String(100), nullable=False),
        sa.Column("icd10", sa.String(20)),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("institution", sa.String(200)),
        sa.Column("institution_code", sa.String(30)),
        sa.Column("case_id", sa.String(64)),
        sa.Column("reviewer", sa.String(64)),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("exit_date", sa.Date),
        sa.Column("exit_reason", sa.String(32)),
        sa.Column("exit_event_id", sa.String(64)),
        sa.Column("renewed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", _TS, nullable=False),
    )
    # covering indexes: renewals and the duplicate lookup read only these columns
    op.create_index(
        "ix_certifications_person_disease", "certifications", ["id_number", "disease", "valid_from", "exit_date"]
    )
    op.create_index(
        "ix_certifications_valid_until",
        "certifications",
        ["valid_until", "valid_from", "exit_date", "renewed"],
    )


def _events_and_anchor() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("id_number", sa.String(30), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("matched", sa.Boolean, nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
    )
    op.create_index("ix_events_person_date", "events", ["id_number", "date"])
    op.create_table(
        "audit_anchor",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    """Drop everything this revision created."""
    for table in ("audit_anchor", "events", "certifications", "decisions", "persons"):
        op.drop_table(table)
