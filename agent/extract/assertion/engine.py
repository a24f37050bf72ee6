"""The ConText algorithm on one record: find every trigger once, give each a scope inside its
sentence (direction, max scope, commas, lists, terminators), and assert a mention by the
triggers whose scope covers it, the section it stands in, an exam-template heading it names,
or a block of another patient's text pasted into the record."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from agent.extract.assertion.blocks import foreign_blocks
from agent.extract.assertion.rules import PRIORITY, Category, Rule, RuleSet, find_triggers, ruleset

if TYPE_CHECKING:
    from agent.extract.document import DocView

CATEGORY_CN = {
    "negated": "否定",
    "possible": "疑似",
    "hypothetical": "假设/计划",
    "historical": "既往",
    "other_person": "他人",
    "administrative": "申请/咨询语句",
}
_SENTENCE_END = re.compile(r"[。；;！!\n]")
_COMMA = re.compile(r"[，,]")
_ENUM = re.compile(r"[、]")
_CACHE_KEY = "assertion_triggers"


@dataclass(frozen=True)
class Trigger:
    """The words that set an assertion, with their offsets in the record."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Assertion:
    """What a mention asserts: its category and the trigger that set it (None: affirmed)."""

    category: Category = "affirmed"
    trigger: Trigger | None = None

    @property
    def certainty(self) -> str:
        """The coarse reading the assessors use: confirmed, uncertain or negated."""
        if self.category in ("affirmed", "historical"):
            return "confirmed"
        return "negated" if self.category == "negated" else "uncertain"

    def note(self) -> str:
        """``否定：否认`` — the category in Chinese and its trigger, for a reviewer."""
        cn = CATEGORY_CN.get(self.category, self.category)
        return f"{cn}：{self.trigger.text}" if self.trigger else cn


AFFIRMED = Assertion()


def triggers(view: DocView) -> list[tuple[int, int, int]]:
    """Every trigger in the record as (start, end, rule index), in order; computed once per view."""
    found = view.cache.get(_CACHE_KEY)
    if found is None:
        found = find_triggers(ruleset(), view.half)
        view.cache[_CACHE_KEY] = found
    return cast("list[tuple[int, int, int]]", found)


def _sentence(view: DocView, start: int, end: int) -> tuple[int, int]:
    """The sentence holding [start, end), cut to the target's section."""
    text = view.half
    s = 0
    for ch in "。；;！!\n":
        s = max(s, text.rfind(ch, 0, start) + 1)
    m = _SENTENCE_END.search(text, end)
    e = m.start() if m else len(text)
    sec = view.section_at(start)
    if sec.start <= start:
        s = max(s, sec.start)
    if sec.end >= end:
        e = min(e, sec.end)
    return s, e


def _list_items_ok(rs: RuleSet, gap: str) -> bool:
    """Whether the comma-separated items after the first in ``gap`` read as one list."""
    items = _COMMA.split(gap)[1:]
    return all(len(it) <= rs.list_item_max and not rs.list_item_stop.search(it) for it in items)


def _reaches(rs: RuleSet, rule: Rule, view: DocView, gap: tuple[int, int], trig: list[tuple[int, int, int]]) -> bool:
    """Whether a trigger's scope spans ``gap`` (the text between trigger and target)."""
    a, b = gap
    text = view.half[a:b]
    list_commas = rule.category == "negated" and (rule.list_commas or view.section_at(a).name in rs.list_comma_sections)
    if b - a > (max(rule.max_scope, 40) if list_commas else rule.max_scope):
        return False
    commas = len(_COMMA.findall(text)) + (0 if rule.lists else len(_ENUM.findall(text)))
    if commas > rule.commas and not (list_commas and rule.lists and _list_items_ok(rs, text)):
        return False
    i = bisect.bisect_left(trig, (a, -1, -1))
    while i < len(trig) and trig[i][0] < b:
        _s, e, ri = trig[i]
        if e <= b and rs.rules[ri].category == "terminate":
            return False
        i += 1
    return True


def _template(rs: RuleSet, view: DocView, end: int, sent_end: int) -> tuple[int, Assertion | None] | None:
    """A finding named as an exam-template heading (糖尿病足部检查：…): the heading's end, and
    the negation its normal content sets (None where the content names a lesion)."""
    head = rs.template_heading.match(view.half, end, min(len(view.half), end + 10))
    if head is None:
        return None
    content_end = sent_end
    nl = view.half.find("\n", head.end())
    if 0 <= nl < content_end:
        content_end = nl
    content = view.half[head.end() : content_end]
    for m in rs.template_abnormal.finditer(content):
        if not re.search(r"[未无否非]", content[max(0, m.start() - 4) : m.start()]):
            return head.end(), None  # 糖尿病足检查：右足第1趾溃疡 is a finding
    normal = rs.template_normal.search(content)
    if normal is None:
        return None  # 建议行视网膜病变筛查: the heading words are a trigger of their own
    s = head.end() + normal.start()
    return head.end(), Assertion("negated", Trigger(view.text[s : s + len(normal.group())], s, s + len(normal.group())))


def _section_assertion(rs: RuleSet, view: DocView, start: int, target: str) -> Assertion | None:
    sec = view.section_at(start)
    rule = rs.sections.get(sec.name)
    if rule is None or target not in rule.applies:
        return None
    hs = view.half.rfind(sec.heading, 0, sec.start) if sec.heading else -1
    trig = Trigger(sec.heading, hs, hs + len(sec.heading)) if hs >= 0 else Trigger(sec.heading, sec.start, sec.start)
    return Assertion(rule.category, trig)  # type: ignore[arg-type]


def assert_mention(view: DocView, start: int, end: int, target: str = "diagnosis") -> Assertion:
    """The assertion of the mention at [start, end): ``target`` is diagnosis, finding or treatment."""
    rs = ruleset()
    for bs, be, pasted in foreign_blocks(view):
        if bs <= start < be:
            return Assertion("other_person", pasted)
    found: list[tuple[int, int, Assertion]] = []
    sect = _section_assertion(rs, view, start, target)
    if sect is not None:
        found.append((PRIORITY[sect.category], 10_000, sect))
    ss, se = _sentence(view, start, end)
    heading_end = end  # an exam-template heading after a finding (糖尿病足筛查：) is no trigger
    tmpl = _template(rs, view, end, se) if target == "finding" else None
    if tmpl is not None:
        heading_end = tmpl[0]
        if tmpl[1] is not None:
            found.append((PRIORITY["negated"], 0, tmpl[1]))
    trig = triggers(view)
    i = bisect.bisect_left(trig, (ss, -1, -1))
    while i < len(trig) and trig[i][0] < se:
        ts, te, ri = trig[i]
        i += 1
        rule = rs.rules[ri]
        if rule.category in ("pseudo", "terminate") or target not in rule.applies or te > se:
            continue
        if ts < heading_end and te > end:
            continue
        if rule.not_in_sections and view.section_at(start).name in rule.not_in_sections:
            continue
        if te <= start and rule.direction in ("forward", "bidirectional"):
            gap = (te, start)
        elif ts >= end and rule.direction in ("backward", "bidirectional"):
            gap = (end, ts)
        else:
            continue
        if _reaches(rs, rule, view, gap, trig):
            a = Assertion(rule.category, Trigger(view.text[ts:te], ts, te))  # type: ignore[arg-type]
            found.append((PRIORITY[rule.category], gap[1] - gap[0], a))
    if not found:
        return AFFIRMED
    return min(found, key=lambda t: (t[0], t[1]))[2]
