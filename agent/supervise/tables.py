"""The tables the rule SQL reads, as columns (numpy arrays) that an engine loads at once: the
valid claims and their items, the registry's certifications and status events (read through
SQLAlchemy, so SQLite and PostgreSQL registries alike), and the item table. Dates are day
numbers since 1970-01-01 and money is integer cents, so the SQL does integer arithmetic only and
runs unchanged on DuckDB and Spark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.core.items import ItemTable
from agent.supervise.reader import ClaimsRead

EPOCH = dt.date(1970, 1, 1).toordinal()
Columns = dict[str, np.ndarray]


def day(d: dt.date) -> int:
    """A date as its day number since 1970-01-01."""
    return d.toordinal() - EPOCH


def date_of(n: int) -> dt.date:
    """The date of a day number."""
    return dt.date.fromordinal(int(n) + EPOCH)


def _col(values: list[Any], kind: str) -> np.ndarray:
    """A column: ``int`` (int64; with a None, an object array, since a float column would lose
    precision — the engine casts it back to BIGINT), ``str`` or ``bool``."""
    if kind == "int":
        if any(v is None for v in values):
            return np.array(values, dtype=object)
        return np.array(values, dtype=np.int64)
    if kind == "bool":
        return np.array(values, dtype=bool)
    return np.array(values, dtype=object)


@dataclass
class Tables:
    """Every table by name, each as ``{column: array}``; ``kinds`` gives each column's SQL type."""

    data: dict[str, Columns] = field(default_factory=dict)
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, rows: dict[str, list[Any]], kinds: dict[str, str]) -> None:
        """Add table ``name`` from lists of values per column."""
        self.data[name] = {c: _col(rows[c], kinds[c]) for c in kinds}
        self.kinds[name] = kinds


CLAIM_KINDS = {
    "claim_id": "str",
    "id_number": "str",
    "disease": "str",
    "service_day": "int",
    "hospital_code": "str",
    "hospital_region": "str",
    "total_cents": "int",
    "line": "int",
}
ITEM_KINDS = {
    "claim_id": "str",
    "pos": "int",
    "generic": "str",
    "days_supply": "int",
    "amount_cents": "int",
    "line": "int",
}
CERT_KINDS = {
    "id_number": "str",
    "disease": "str",
    "valid_from": "int",
    "valid_until": "int",
    "exit_day": "int",
    "exit_reason": "str",
}
EVENT_KINDS = {"id_number": "str", "type": "str", "day": "int"}


def add_claims(tables: Tables, read: ClaimsRead, canon: Callable[[str], str] = str) -> None:
    """The ``claims`` and ``items`` tables from the rows of the claims file; ``canon`` names a
    disease as the registry does (an alias becomes the catalogue's name)."""
    names = {d: canon(d) for d in {c.disease for c in read.claims}}
    cols: list[Any] = list(zip(*read.claims, strict=True)) if read.claims else [() for _ in CLAIM_KINDS]
    rows = dict(zip(CLAIM_KINDS, (list(c) for c in cols), strict=True))
    rows["disease"] = [names[d] for d in rows["disease"]]
    tables.add("claims", rows, CLAIM_KINDS)
    icols: list[Any] = list(zip(*read.items, strict=True)) if read.items else [() for _ in ITEM_KINDS]
    tables.add("items", dict(zip(ITEM_KINDS, (list(c) for c in icols), strict=True)), ITEM_KINDS)


def add_registry(tables: Tables, certs: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> None:
    """The ``certs`` and ``events`` tables from registry rows (in CERT_KINDS / EVENT_KINDS order,
    dates as dates)."""
    c: dict[str, list[Any]] = {k: [] for k in CERT_KINDS}
    for id_number, disease, valid_from, valid_until, exit_date, exit_reason in certs:
        c["id_number"].append(id_number)
        c["disease"].append(disease)
        c["valid_from"].append(day(valid_from))
        c["valid_until"].append(day(valid_until))
        c["exit_day"].append(day(exit_date) if exit_date is not None else None)
        c["exit_reason"].append(exit_reason)
    e: dict[str, list[Any]] = {k: [] for k in EVENT_KINDS}
    for id_number, typ, date in events:
        e["id_number"].append(id_number)
        e["type"].append(typ)
        e["day"].append(day(date))
    tables.add("certs", c, CERT_KINDS)
    tables.add("events", e, EVENT_KINDS)


def add_item_table(tables: Tables, table: ItemTable) -> None:
    """The ``item_table`` (generic, class group, high-value) and ``item_diseases`` tables."""
    t: dict[str, list[Any]] = {"generic": [], "grp": [], "high_value": []}
    d: dict[str, list[Any]] = {"generic": [], "disease": []}
    for item in table.items.values():
        t["generic"].append(item.generic)
        t["grp"].append(item.group)
        t["high_value"].append(item.high_value)
        for disease in sorted(item.diseases):
            d["generic"].append(item.generic)
            d["disease"].append(disease)
    tables.add("item_table", t, {"generic": "str", "grp": "str", "high_value": "bool"})
    tables.add("item_diseases", d, {"generic": "str", "disease": "str"})
