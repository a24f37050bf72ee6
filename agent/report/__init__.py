"""Presentation only: terminal rendering with rich, JSONL/CSV/HTML writers and their Jinja2
templates (``templates/``), and the merge of shard outputs into one queue (``merge``). Computes
nothing a decision depends on.

May import: every room below it.
"""
