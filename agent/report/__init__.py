"""Presentation only: terminal rendering with rich, JSONL/CSV/HTML writers and their Jinja2
templates (``templates/``). Computes nothing a decision depends on.

May import: every room below it.
"""
