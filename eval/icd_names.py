"""ICD-10 coding eval: a labelled list of diagnosis names (official Chinese ICD-10 titles, or names
as hospitals write them) -> the WHO code the coder gives, scored by category (3 characters) and by
full code (RULES.md §4: the subcategory a site or type names, else .9, else the category)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from agent.core.errors import InvalidInputError
from eval.metrics import percentile


def load_names(path: Path) -> list[dict[str, str]]:
    """The list: ``[{name, code}]`` (a YAML sequence, or a mapping with ``names:``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(
            f"cannot read name list {path}: {type(exc).__name__}", "A YAML list of {name, code}."
        ) from None
    rows = data.get("names") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise InvalidInputError(f"{path}: expected a non-empty list of {{name, code}}", "See eval/icd/README.md.")
    for i, r in enumerate(rows, 1):
        if not (isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("code"), str)):
            raise InvalidInputError(
                f"{path}: entry {i} needs a string name and code", "Each entry: {name: ..., code: ...}."
            )
    return [{"name": r["name"], "code": r["code"].strip().upper()} for r in rows]


def score_names(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Category and full-code accuracy of the coder over ``rows``, with every miss listed."""
    from agent.coding.coder import code_name
    from agent.coding.icd10 import normalize

    cat = full = 0
    misses: list[dict[str, Any]] = []
    times: list[float] = []
    for r in rows:
        t0 = time.perf_counter()
        m = code_name(r["name"])
        times.append((time.perf_counter() - t0) * 1000)
        got = normalize(m.code) if m else None
        gold = normalize(r["code"]) or r["code"]
        ok_cat = got is not None and got[:3] == gold[:3]
        cat += ok_cat
        full += got == gold
        if got != gold:
            misses.append({"name": r["name"], "expected": gold, "got": got, "category_ok": ok_cat,
                           "method": m.method if m else None})
    n = len(rows)
    return {
        "names": n,
        "category_accuracy": round(cat / n, 4),
        "code_accuracy": round(full / n, 4),
        "p50_ms": round(percentile(times, 0.5), 3),
        "p95_ms": round(percentile(times, 0.95), 3),
        "misses": misses,
    }
