"""The supervision rules (knowledge_base/supervision.yaml, shared/CLAIMS.md §5) as typed data:
each rule names a *shape* — a template of SQL the supervise room owns — and that shape's
parameters, so a new rule of an existing shape (another oversupply threshold for one class
group) is a change of the YAML alone. Every key is read or rejected, each problem named by its
key (``CatalogError``); ``kb check`` verifies the clause each rule rests on."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator

from agent.core.criteria import CatalogError, Strict, problems_of
from agent.core.i18n import _
from agent.core.yamldoc import parse_model, require_file

SUPERVISION_FILE = "supervision.yaml"
ExitType = Literal["death", "insurance_stopped", "moved_out"]
Severity = Literal["violation", "suspicious"]
RuleId = Annotated[str, Field(pattern=r"^[A-Z]{2,4}[0-9]{2,3}$")]


class NoParams(Strict):
    """A shape without parameters."""


class ItemFilter(Strict):
    """Which items an item-based rule looks at (all when unset): generic names, class groups,
    claim diseases (full catalogue names)."""

    generics: list[str] | None = Field(default=None, min_length=1)
    groups: list[str] | None = Field(default=None, min_length=1)
    diseases: list[str] | None = Field(default=None, min_length=1)

    @field_validator("generics", "groups", "diseases")
    @classmethod
    def _plain(cls, v: list[str] | None) -> list[str] | None:
        # the names go into SQL literals: a quote or backslash would read differently on Spark
        for name in v or []:
            if not name.strip() or any(ch in name for ch in "'\\\"\n"):
                raise ValueError(
                    _("{name} must be a plain name (no quotes, backslashes or line breaks)", name=repr(name))
                )
        return v


class EventParams(Strict):
    """Status events that flag a later claim of the person."""

    event_types: list[ExitType] = Field(min_length=1)


class ExitParams(Strict):
    """Exit reasons of a certification that ended before the claim."""

    exit_reasons: list[ExitType] = Field(min_length=1)


class OversupplyParams(ItemFilter):
    """Most days of supply one prescription may carry."""

    max_days: int = Field(ge=1, le=366)


class RefillParams(ItemFilter):
    """A refill is early when days since the previous fill < ratio × its days of supply."""

    ratio: Decimal = Field(gt=0, le=10, max_digits=6, decimal_places=3)


class HospitalsParams(ItemFilter):
    """At least ``min_hospitals`` hospitals with first to last service ≤ ``window_days`` apart."""

    min_hospitals: int = Field(ge=2, le=50)
    window_days: int = Field(ge=0, le=366)
    high_value_only: bool


class CitiesParams(Strict):
    """Claims of one day in different cities (the first ``city_digits`` of the region code)."""

    city_digits: int = Field(ge=2, le=6)


class ClassParams(ItemFilter):
    """At least ``min_generics`` different generics of one class group in one claim."""

    min_generics: int = Field(ge=2, le=20)


# shape -> (its parameters, the names its SQL returns for the explanation template)
SHAPES: dict[str, tuple[type[Strict], frozenset[str]]] = {
    "not_covered": (NoParams, frozenset({"service_date", "disease"})),
    "after_event": (EventParams, frozenset({"service_date", "disease", "event_date", "event_type"})),
    "after_exit": (ExitParams, frozenset({"service_date", "disease", "exit_date", "exit_reason"})),
    "item_disease_mismatch": (ItemFilter, frozenset({"service_date", "disease", "generic"})),
    "oversupply": (OversupplyParams, frozenset({"service_date", "disease", "generic", "days_supply"})),
    "early_refill": (
        RefillParams,
        frozenset({"service_date", "generic", "prev_claim_id", "prev_service_date", "prev_days_supply", "gap_days"}),
    ),
    "multi_hospital": (HospitalsParams, frozenset({"generic", "first_date", "last_date", "hospitals"})),
    "same_day_cities": (CitiesParams, frozenset({"service_date", "cities", "city_list"})),
    "duplicate_class": (ClassParams, frozenset({"group", "generics", "generic_list"})),
}
Shape = Literal[
    "not_covered",
    "after_event",
    "after_exit",
    "item_disease_mismatch",
    "oversupply",
    "early_refill",
    "multi_hospital",
    "same_day_cities",
    "duplicate_class",
]


class Rule(Strict):
    """One supervision rule: what it flags is its shape's SQL run with its parameters."""

    rule: RuleId
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    severity: Severity
    shape: Shape
    params: dict[str, object] = Field(default_factory=dict)
    unless: list[RuleId] = Field(default_factory=list, description="Rules whose flagged claims this one skips.")
    clause_id: str = Field(min_length=3)
    explanation: str = Field(min_length=1, description="Chinese template; {names} of the shape and params.")
    _params: Strict = PrivateAttr(default_factory=NoParams)

    @property
    def p(self) -> Strict:
        """The parameters, typed by the shape."""
        return self._params


class RuleSet(Strict):
    """The whole file."""

    rules_version: str = Field(min_length=1)
    clause_id: str = Field(min_length=3, description="The clause that sets up supervision as a whole.")
    labels: dict[str, str] = Field(default_factory=dict, description="Chinese words for codes in explanations.")
    rules: list[Rule] = Field(min_length=1)
    _sha256: str = PrivateAttr(default="")

    @property
    def sha256(self) -> str:
        """sha256 of the file it was read from."""
        return self._sha256

    def ordered(self) -> list[Rule]:
        """The rules in an order where every rule comes after those of its ``unless``."""
        done: dict[str, Rule] = {}
        pending = list(self.rules)
        while pending:
            ready = [r for r in pending if all(u in done for u in r.unless)]
            for r in ready:
                done[r.rule] = r
            pending = [r for r in pending if r.rule not in done]
            if not ready:  # a cycle: parse_rules reports it; never loop forever
                break
        return list(done.values())


def _template_names(template: str) -> list[str]:
    """The {names} of a template (a format string)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _typed(rule: Rule, i: int) -> list[str]:
    """Validate ``rule.params`` against its shape's model; the problems, each named by key."""
    model, _ = SHAPES[rule.shape]
    try:
        rule._params = model.model_validate(rule.params)
    except ValidationError as exc:
        return [f"rules[{i}].params: {p}" for p in problems_of(exc, rule.params)]
    return []


def _problems(rs: RuleSet) -> list[str]:
    """Cross-key problems: a rule id twice, an unknown ``unless``, a cycle, a template name the
    shape does not return."""
    problems: list[str] = []
    ids = [r.rule for r in rs.rules]
    for i, r in enumerate(rs.rules):
        problems += _typed(r, i)
        if ids.count(r.rule) > 1 and ids.index(r.rule) == i:
            problems.append(f"rules[{i}].rule: {r.rule} is listed twice")
        for u in r.unless:
            if u not in ids or u == r.rule:
                problems.append(f"rules[{i}].unless: {u} is not another rule of this file")
        known = SHAPES[r.shape][1] | set(r.params)
        try:
            names = _template_names(r.explanation)
        except ValueError as exc:
            problems.append(f"rules[{i}].explanation: not a template ({exc})")
            continue
        for name in names:
            if not re.fullmatch(r"\w+", name) or name not in known:
                problems.append(
                    f"rules[{i}].explanation: {{{name}}} is not a name of shape {r.shape} "
                    f"(known: {', '.join(sorted(known))})"
                )
    if not problems and len(rs.ordered()) < len(rs.rules):
        problems.append("rules: the unless lists form a cycle")
    return problems


def parse_rules(raw: bytes, path: str) -> RuleSet:
    """Parse the supervision rules; every problem is named by its key (``CatalogError``)."""
    shape = _("the file must be a mapping of keys")
    return parse_model(raw, path, RuleSet, shape=shape, invalid=_invalid, check=_problems)


def _invalid(path: str, problems: list[str]) -> CatalogError:
    """The error of a rules file whose keys are wrong, each one named."""
    return CatalogError(
        path,
        problems,
        _(
            "Correct the key named in the supervision rules: every key is read, so an unknown or misspelt one is an "
            "error, not a default. `certreview kb check` lists every problem."
        ),
        message=_("supervision rules {path} are invalid: {problems}", path=path, problems="; ".join(problems)),
    )


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> RuleSet:
    return parse_rules(Path(path).read_bytes(), path)


def rules_path(catalog_path: Path) -> Path:
    """The rules live beside the catalogue, so one knowledge-base folder holds both."""
    return catalog_path.parent / SUPERVISION_FILE


def load_rules(path: Path) -> RuleSet:
    """Load (and cache, until the file changes) the supervision rules."""
    require_file(
        path,
        _("supervision rules not found: {path}", path=path),
        _("Restore knowledge_base/supervision.yaml beside the catalogue (CERTREVIEW_CATALOG_PATH's folder)."),
    )
    return _load(str(path), path.stat().st_mtime)
