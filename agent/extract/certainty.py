"""Negation, uncertainty and whose-disease-is-it, as RULES.md reads them, from the assertion
engine (``agent.extract.assertion``): 未见恶性/良性/阴性 negate; 考虑/疑似/可能/待排/不除外/
待病理/？ leave a diagnosis unconfirmed; family history and pasted text are someone else's."""

from __future__ import annotations

from typing import Literal, cast

from agent.extract.assertion import assert_mention
from agent.extract.document import DocView

Certainty = Literal["confirmed", "uncertain", "negated"]


def certainty(view: DocView, start: int, end: int, target: str = "diagnosis") -> Certainty:
    """Certainty of the term at [start, end): a request, plan or another person's mention is
    not a confirmed one."""
    return cast(Certainty, assert_mention(view, start, end, target).certainty)


def is_family(view: DocView, start: int, end: int) -> bool:
    """Whether the term belongs to another person (a relative, the family history, pasted text)."""
    return assert_mention(view, start, end, "diagnosis").category == "other_person"
