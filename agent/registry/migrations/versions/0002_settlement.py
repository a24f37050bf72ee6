"""Settlement: the result of each settled claim and the per-person accumulators.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the settlement tables."""
    op.create_table(
        "settlement_results",
        sa.Column("claim_id", sa.String(64), primary_key=True),
        sa.Column("id_number", sa.String(30), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("claim_json", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
    )
    # --resettle reads a person's year
    op.create_index("ix_settlement_results_person_year", "settlement_results", ["id_number", "year"])
    op.create_table(
        "settlement_accumulators",
        sa.Column("id_number", sa.String(30), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("bucket", sa.String(100), primary_key=True),
        sa.Column("used", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    """Drop the settlement tables."""
    op.drop_table("settlement_accumulators")
    op.drop_index("ix_settlement_results_person_year", "settlement_results")
    op.drop_table("settlement_results")
