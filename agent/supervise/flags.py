"""From rows to findings: the rows a rule's SQL returns (one per claim and detail) grouped into
one flag per finding — a claim, a claim's item, a person's day, a person's run of fills at many
hospitals — each with its Chinese explanation filled from the rule's template (CLAIMS.md §5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.core.supervision import HospitalsParams, Rule
from agent.supervise.tables import date_of

Row = dict[str, Any]


@dataclass
class Flag:
    """One finding of one rule (the JSON of CLAIMS.md §5 is ``to_dict``)."""

    rule: str
    code: str
    severity: str
    id_number: str
    claim_ids: list[str]
    generic: str | None
    explanation: str
    clause_id: str
    first_day: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The flag as ``supervise --json`` prints it."""
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity,
            "id_number": self.id_number,
            "claim_ids": self.claim_ids,
            "generic": self.generic,
            "explanation": self.explanation,
            "clause_id": self.clause_id,
        }


def _dates(row: Row) -> Row:
    """Day numbers (``*_day``) as ISO dates (``*_date``), for the explanation."""
    out = dict(row)
    for k, v in row.items():
        if k.endswith("_day") and k != "gap_days":
            out[k[: -len("_day")] + "_date"] = date_of(v).isoformat() if v is not None else None
    return out


def _ordered(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r["service_day"], r["claim_id"]))


def _claim_ids(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(r["claim_id"] for r in _ordered(rows)))


def _by(keys: tuple[str, ...]) -> Callable[[Rule, list[Row]], list[tuple[list[Row], Row]]]:
    """Group rows by ``keys``; each group's fields are its first row's."""

    def group(_: Rule, rows: list[Row]) -> list[tuple[list[Row], Row]]:
        groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
        for r in rows:
            groups[tuple(r[k] for k in keys)].append(r)
        return [(g, _ordered(g)[0]) for g in groups.values()]

    return group


def _runs(rule: Rule, rows: list[Row]) -> list[tuple[list[Row], Row]]:
    """Multi-hospital: a person's flagged fills of one drug, split where two fills are further
    apart than the window (separate episodes are separate findings)."""
    p = rule.p
    assert isinstance(p, HospitalsParams)
    out = []
    for g, _ in _by(("id_number", "generic"))(rule, rows):
        g = _ordered(g)
        run = [g[0]]
        for r in g[1:]:
            if r["service_day"] - run[-1]["service_day"] > p.window_days:
                out.append(run)
                run = []
            run.append(r)
        out.append(run)
    return [
        (
            run,
            run[0]
            | {
                "first_day": run[0]["service_day"],
                "last_day": run[-1]["service_day"],
                "hospitals": len({r["hospital_code"] for r in run}),
            },
        )
        for run in out
    ]


def _cities(rule: Rule, rows: list[Row]) -> list[tuple[list[Row], Row]]:
    out = []
    for g, first in _by(("id_number", "service_day"))(rule, rows):
        cities = sorted({r["city"] for r in g})
        out.append((g, first | {"cities": len(cities), "city_list": "、".join(cities)}))
    return out


def _classes(rule: Rule, rows: list[Row]) -> list[tuple[list[Row], Row]]:
    out = []
    for g, first in _by(("claim_id", "class_group"))(rule, rows):
        generics = sorted({r["generic"] for r in g})
        extra = {"group": first["class_group"], "generics": len(generics), "generic_list": "、".join(generics)}
        out.append((g, first | extra | {"generic": None}))
    return out


GROUPING: dict[str, Callable[[Rule, list[Row]], list[tuple[list[Row], Row]]]] = {
    "not_covered": _by(("claim_id",)),
    "after_event": _by(("claim_id",)),
    "after_exit": _by(("claim_id",)),
    "item_disease_mismatch": _by(("claim_id", "generic")),
    "oversupply": _by(("claim_id", "generic")),
    "early_refill": _by(("claim_id", "generic")),
    "multi_hospital": _runs,
    "same_day_cities": _cities,
    "duplicate_class": _classes,
}


def findings(rule: Rule, rows: list[Row], labels: dict[str, str]) -> list[Flag]:
    """One flag per finding of ``rule`` in ``rows``, ordered by their first claim."""
    flags = []
    params = {k: (str(v) if not isinstance(v, list) else "、".join(map(str, v))) for k, v in rule.params.items()}
    for group, fields in GROUPING[rule.shape](rule, rows):
        values = _dates(fields)
        for k in ("exit_reason", "event_type"):
            if values.get(k) in labels:
                values[k] = labels[values[k]]
        values = params | {k: v for k, v in values.items() if v is not None} | {"generic": fields.get("generic")}
        flags.append(
            Flag(
                rule=rule.rule,
                code=rule.code,
                severity=rule.severity,
                id_number=fields["id_number"],
                claim_ids=_claim_ids(group),
                generic=fields.get("generic"),
                explanation=rule.explanation.format_map(defaultdict(str, values)),
                clause_id=rule.clause_id,
                first_day=min(r["service_day"] for r in group),
            )
        )
    return sorted(flags, key=lambda f: (f.first_day, f.claim_ids[0], f.generic or ""))
