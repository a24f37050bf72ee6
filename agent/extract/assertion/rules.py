"""The ConText rules file (``rules.yaml`` beside this module), loaded and compiled once: one
alternation of every trigger, longest first, so that a pseudo-trigger or a longer trigger wins
over a shorter one inside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

import yaml

from agent.core.errors import CertreviewError

RULES_PATH = Path(__file__).resolve().parent / "rules.yaml"

Category = Literal["affirmed", "negated", "possible", "hypothetical", "historical", "other_person", "administrative"]
CATEGORIES: tuple[str, ...] = (
    "negated",
    "possible",
    "hypothetical",
    "historical",
    "other_person",
    "administrative",
    "pseudo",
    "terminate",
)
DIRECTIONS = ("forward", "backward", "bidirectional", "terminate")
TARGETS = ("diagnosis", "finding", "treatment")
# When several triggers reach one target, the one whose category ranks first decides.
PRIORITY: dict[str, int] = {
    "other_person": 0,
    "administrative": 1,
    "negated": 2,
    "hypothetical": 3,
    "possible": 4,
    "historical": 5,
}


class AssertionRulesError(CertreviewError):
    """The assertion rules file is malformed."""


@dataclass(frozen=True)
class Rule:
    """One trigger rule: what it sets, in which direction and how far."""

    category: str
    direction: str
    max_scope: int
    commas: int
    lists: bool
    list_commas: bool
    applies: frozenset[str]


@dataclass(frozen=True)
class SectionRule:
    """A section that sets a category on every mention in it (家族史: another person)."""

    category: str
    applies: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules."""

    rules: tuple[Rule, ...]
    trigger_re: re.Pattern[str]  # group ``r<i>`` is rule i
    sections: dict[str, SectionRule]
    list_comma_sections: frozenset[str]
    list_item_max: int
    list_item_stop: re.Pattern[str]
    template_heading: re.Pattern[str]
    template_normal: re.Pattern[str]
    template_abnormal: re.Pattern[str]


def _fail(msg: str) -> AssertionRulesError:
    return AssertionRulesError(f"{RULES_PATH.name}: {msg}", hint="fix the rules file shipped with certreview")


def _rule(raw: dict[str, object], defaults: dict[str, object], i: int) -> tuple[Rule, list[str]]:
    """One rule and its regex alternatives."""
    cat = str(raw.get("category", ""))
    if cat not in CATEGORIES:
        raise _fail(f"rule {i}: unknown category {cat!r} (one of {', '.join(CATEGORIES)})")
    direction = str(raw.get("direction", "terminate" if cat in ("pseudo", "terminate") else "forward"))
    if direction not in DIRECTIONS:
        raise _fail(f"rule {i}: unknown direction {direction!r} (one of {', '.join(DIRECTIONS)})")
    applies = raw.get("applies", defaults.get("applies", list(TARGETS)))
    if not isinstance(applies, list) or any(a not in TARGETS for a in applies):
        raise _fail(f"rule {i}: applies must be a list of {', '.join(TARGETS)}")
    literals = raw.get("literal", []) or []
    patterns = raw.get("pattern", []) or []
    if not isinstance(literals, list) or not isinstance(patterns, list) or not (literals or patterns):
        raise _fail(f"rule {i}: needs a list of literal or pattern triggers")
    alts = [re.escape(str(w)) for w in literals] + [str(p) for p in patterns]
    for p in alts:
        try:
            re.compile(p)
        except re.error as exc:
            raise _fail(f"rule {i}: bad pattern {p!r}: {exc}") from exc
    rule = Rule(
        category=cat,
        direction=direction,
        max_scope=int(raw.get("max_scope", defaults.get("max_scope", 16))),  # type: ignore[call-overload]
        commas=int(raw.get("commas", defaults.get("commas", 0))),  # type: ignore[call-overload]
        lists=bool(raw.get("lists", True)),
        list_commas=bool(raw.get("list_commas", False)),
        applies=frozenset(str(a) for a in applies),
    )
    return rule, alts


def compile_rules(data: dict[str, object]) -> RuleSet:
    """Compile a parsed rules file."""
    defaults = data.get("defaults") or {}
    raw_rules = data.get("rules")
    if not isinstance(defaults, dict) or not isinstance(raw_rules, list) or not raw_rules:
        raise _fail("needs a `rules` list (and an optional `defaults` mapping)")
    rules: list[Rule] = []
    # longest alternative first across all rules: at one position the longer trigger wins
    alternatives: list[tuple[int, str, int]] = []
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, dict):
            raise _fail(f"rule {i}: must be a mapping")
        rule, alts = _rule(raw, defaults, i)
        rules.append(rule)
        alternatives += [(i, a, len(re.sub(r"\\.|\[[^]]*\]|\(\?[^)]*\)", "x", a))) for a in alts]
    alternatives.sort(key=lambda t: -t[2])
    body = "|".join(f"(?P<r{i}_{k}>{a})" for k, (i, a, _) in enumerate(alternatives))
    sections = {}
    for name, raw in (data.get("sections") or {}).items():  # type: ignore[attr-defined]
        sections[str(name)] = SectionRule(str(raw["category"]), frozenset(raw.get("applies", TARGETS)))
    return RuleSet(
        rules=tuple(rules),
        trigger_re=re.compile(body),
        sections=sections,
        list_comma_sections=frozenset(str(x) for x in cast("list[object]", data.get("list_comma_sections") or [])),
        list_item_max=int(data.get("list_item_max", 10)),  # type: ignore[call-overload]
        list_item_stop=re.compile(str(data.get("list_item_stop", r"有|伴"))),
        template_heading=re.compile(str(data.get("template_heading", r"(?!x)x"))),
        template_normal=re.compile(str(data.get("template_normal", r"(?!x)x"))),
        template_abnormal=re.compile(str(data.get("template_abnormal", r"(?!x)x"))),
    )


@lru_cache(maxsize=1)
def ruleset() -> RuleSet:
    """The shipped rules, compiled."""
    try:
        data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(f"cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail("must be a mapping")
    return compile_rules(data)


def rule_of(group: str) -> int:
    """The rule index of a match group name (``r12_40`` -> 12)."""
    return int(group[1:].split("_", 1)[0])
