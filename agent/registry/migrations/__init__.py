"""Alembic migrations of the registry, shipped as package data and run on open."""
