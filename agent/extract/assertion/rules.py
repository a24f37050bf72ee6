"""The ConText rules file (``rules.yaml`` beside this module), loaded and compiled once: the
literal triggers as one prefix tree (a regex that matches the longest literal at each position in
one pass), the pattern triggers beside it; where matches overlap the leftmost, then the longest,
wins, so that a pseudo-trigger or a longer trigger beats a shorter one inside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

import yaml

from agent.core.errors import CertreviewError
from agent.core.i18n import _

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
    not_in_sections: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SectionRule:
    """A section that sets a category on every mention in it (家族史: another person)."""

    category: str
    applies: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules."""

    rules: tuple[Rule, ...]
    literal_re: re.Pattern[str]  # every literal trigger, as a prefix tree
    literal_rule: dict[str, int]  # literal -> its rule's index
    patterns: tuple[tuple[re.Pattern[str], int], ...]  # pattern triggers with their rule's index
    sections: dict[str, SectionRule]
    list_comma_sections: frozenset[str]
    list_item_max: int
    list_item_stop: re.Pattern[str]
    template_heading: re.Pattern[str]
    template_normal: re.Pattern[str]
    template_abnormal: re.Pattern[str]


def _fail(msg: str) -> AssertionRulesError:
    return AssertionRulesError(
        _("{file}: {problem}", file=RULES_PATH.name, problem=msg), hint=_("fix the rules file shipped with certreview")
    )


def _rule(raw: dict[str, object], defaults: dict[str, object], i: int) -> tuple[Rule, list[str], list[str]]:
    """One rule, its literal triggers and its patterns."""
    cat = str(raw.get("category", ""))
    if cat not in CATEGORIES:
        raise _fail(
            _(
                "rule {i}: unknown category {value} (one of {choices})",
                i=i,
                value=repr(cat),
                choices=", ".join(CATEGORIES),
            )
        )
    direction = str(raw.get("direction", "terminate" if cat in ("pseudo", "terminate") else "forward"))
    if direction not in DIRECTIONS:
        raise _fail(
            _(
                "rule {i}: unknown direction {value} (one of {choices})",
                i=i,
                value=repr(direction),
                choices=", ".join(DIRECTIONS),
            )
        )
    applies = raw.get("applies", defaults.get("applies", list(TARGETS)))
    if not isinstance(applies, list) or any(a not in TARGETS for a in applies):
        raise _fail(_("rule {i}: applies must be a list of {targets}", i=i, targets=", ".join(TARGETS)))
    literals = raw.get("literal", []) or []
    patterns = raw.get("pattern", []) or []
    if not isinstance(literals, list) or not isinstance(patterns, list) or not (literals or patterns):
        raise _fail(_("rule {i}: needs a list of literal or pattern triggers", i=i))
    for p in patterns:
        try:
            re.compile(str(p))
        except re.error as exc:
            raise _fail(_("rule {i}: bad pattern {pattern}: {error}", i=i, pattern=repr(p), error=exc)) from exc
    rule = Rule(
        category=cat,
        direction=direction,
        max_scope=int(raw.get("max_scope", defaults.get("max_scope", 16))),  # type: ignore[call-overload]
        commas=int(raw.get("commas", defaults.get("commas", 0))),  # type: ignore[call-overload]
        lists=bool(raw.get("lists", True)),
        list_commas=bool(raw.get("list_commas", False)),
        applies=frozenset(str(a) for a in applies),
        not_in_sections=frozenset(str(x) for x in cast("list[object]", raw.get("not_in_sections") or [])),
    )
    return rule, [str(w) for w in literals], [str(p) for p in patterns]


def trie_regex(words: list[str]) -> str:
    """A regex matching any of ``words``, factored by common prefix (greedy: longest first)."""
    trie: dict[str, dict] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and "" not in node else "(?:" + "|".join(alts) + ")"
        return body + ("?" if "" in node else "")

    return build(trie) or r"(?!x)x"


def compile_rules(data: dict[str, object]) -> RuleSet:
    """Compile a parsed rules file."""
    defaults = data.get("defaults") or {}
    raw_rules = data.get("rules")
    if not isinstance(defaults, dict) or not isinstance(raw_rules, list) or not raw_rules:
        raise _fail(_("needs a `rules` list (and an optional `defaults` mapping)"))
    rules: list[Rule] = []
    literal_rule: dict[str, int] = {}
    patterns: list[tuple[re.Pattern[str], int]] = []
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, dict):
            raise _fail(_("rule {i}: must be a mapping", i=i))
        rule, literals, pats = _rule(raw, defaults, i)
        rules.append(rule)
        for w in literals:
            literal_rule.setdefault(w, i)
        patterns += [(re.compile(p), i) for p in pats]
    sections = {}
    for name, raw in (data.get("sections") or {}).items():  # type: ignore[attr-defined]
        sections[str(name)] = SectionRule(str(raw["category"]), frozenset(raw.get("applies", TARGETS)))
    return RuleSet(
        rules=tuple(rules),
        literal_re=re.compile(trie_regex(list(literal_rule))),
        literal_rule=literal_rule,
        patterns=tuple(patterns),
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
        # the C loader where PyYAML has it: the rules load on the first record of every run
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(RULES_PATH.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(_("cannot be read: {error}", error=exc)) from exc
    if not isinstance(data, dict):
        raise _fail(_("must be a mapping"))
    return compile_rules(data)


def find_triggers(rs: RuleSet, text: str) -> list[tuple[int, int, int]]:
    """Every trigger in ``text`` as (start, end, rule index): leftmost first, the longest where
    several start together, none overlapping."""
    found = [(m.start(), m.end(), rs.literal_rule[m.group()]) for m in rs.literal_re.finditer(text)]
    for rx, i in rs.patterns:
        found += [(m.start(), m.end(), i) for m in rx.finditer(text) if m.end() > m.start()]
    found.sort(key=lambda t: (t[0], t[0] - t[1]))
    out: list[tuple[int, int, int]] = []
    last_end = -1
    for t in found:
        if t[0] >= last_end:
            out.append(t)
            last_end = t[1]
    return out
