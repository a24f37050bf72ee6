"""Findings a document only restates: ``2022年8月因左足溃疡住院（诊断糖尿病足）`` in a 2025 clinic
note recalls an old result. RULES.md: such a note does not renew the evidence — the finding counts
from the document that recorded it, with that document's date — so the recalled mention is read as
historical, with the recalled date as its trigger."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from agent.extract.assertion import Assertion, Trigger
from agent.extract.mentions import Mention

# a year, optionally with its month, written in the same sentence as the finding
_RECALLED = re.compile(r"((?:19|20)\d{2})\s*(?:年|[-./])\s*(?:(\d{1,2})\s*(?:月|[-./]))?")
# a recalled date at least this old is a past result, not what this document records
MIN_AGE_DAYS = 365


def _recalled_date(year: str, month: str | None) -> dt.date | None:
    """The latest day the written year (and month) can mean: the reading that is least old."""
    y, m = int(year), int(month) if month else 12
    if not 1 <= m <= 12:
        return None
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def restated(m: Mention) -> Mention:
    """``m`` marked historical when its sentence dates it a year or more before its document."""
    doc_date = m.view.date
    if m.assertion.category != "affirmed" or doc_date is None:
        return m
    # the newest date written in the sentence, before the finding or after it (乙状结肠癌根治术后（2021年）)
    s, e = m.view.clause_bounds(m.start, m.end)
    last = None
    for hit in _RECALLED.finditer(m.view.half, s, e):
        last = hit
    if last is None:
        return m
    recalled = _recalled_date(last.group(1), last.group(2))
    if recalled is None or (doc_date - recalled).days < MIN_AGE_DAYS:
        return m
    trig = Trigger(m.view.text[last.start() : last.end()].strip(), last.start(), last.end())
    return dataclasses.replace(m, assertion=Assertion("historical", trig))
