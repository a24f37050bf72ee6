"""Alembic environment: runs on the connection the registry passes in (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

from agent.registry.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
