"""Dates as hospitals write them: 2025年3月5日, 2025-03-05, 2025.3.5, 2025/03/05, 25-03-05,
二〇二五年三月五日, with or without a time."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

_CN_DIGIT = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

_NUMERIC = re.compile(
    r"(?<![\d.])((?:19|20)\d{2}|\d{2})\s*(?:年|[-./])\s*(\d{1,2})\s*(?:月|[-./])\s*(\d{1,2})\s*日?(?![\d])"
)
_CHINESE = re.compile(r"([〇零○一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_COMPACT = re.compile(r"(?<![\dA-Za-z])(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![\d])")
_YEAR_MONTH = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*(?:年|[-./])\s*(\d{1,2})\s*月?(?![\d./-])")


@dataclass(frozen=True)
class DateMention:
    """A date found in text, with its span."""

    date: dt.date
    start: int
    end: int
    month_only: bool = False


def _cn_number(s: str) -> int:
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGIT[s[1]]
    if s.endswith("十"):
        return _CN_DIGIT[s[0]] * 10
    if "十" in s:
        a, b = s.split("十")
        return _CN_DIGIT[a] * 10 + _CN_DIGIT[b]
    return _CN_DIGIT[s]


def _make(y: int, m: int, d: int) -> dt.date | None:
    if y < 100:
        y += 2000
    try:
        date = dt.date(y, m, d)
    except ValueError:
        return None
    return date if 1900 <= y <= 2100 else None


def find_dates(text: str, *, month_only: bool = False) -> list[DateMention]:
    """Every full date in ``text`` (and year-month dates too if ``month_only``), in order."""
    out: list[DateMention] = []
    for m in _NUMERIC.finditer(text):
        y = m.group(1)
        # a 2-digit year only with '-' separators (25-03-05), never inside a longer number
        if len(y) == 2 and not re.fullmatch(r"\d{2}-\d{1,2}-\d{1,2}", re.sub(r"\s", "", m.group(0))):
            continue
        d = _make(int(y), int(m.group(2)), int(m.group(3)))
        if d:
            out.append(DateMention(d, m.start(), m.end()))
    for m in _CHINESE.finditer(text):
        y = int("".join(str(_CN_DIGIT[c]) for c in m.group(1)))
        d = _make(y, _cn_number(m.group(2)), _cn_number(m.group(3)))
        if d:
            out.append(DateMention(d, m.start(), m.end()))
    for m in _COMPACT.finditer(text):
        if any(x.start <= m.start() < x.end for x in out):
            continue
        d = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            out.append(DateMention(d, m.start(), m.end()))
    if month_only:
        taken = [(x.start, x.end) for x in out]
        for m in _YEAR_MONTH.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            d = _make(int(m.group(1)), int(m.group(2)), 1)
            if d:
                out.append(DateMention(d, m.start(), m.end(), month_only=True))
    return sorted(out, key=lambda x: x.start)


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus ``months`` calendar months (day clipped to the month's end: 08-31 + 6 -> 02-28)."""
    result: dt.date = d + relativedelta(months=months)
    return result
