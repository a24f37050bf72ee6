"""Month arithmetic (dateutil's relativedelta behind add_months): the renewal window and the
evidence age limit count calendar months, the day clipped to the month's end."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.extract.dates import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-08-31", 6, "2026-02-28"),  # clipped to a short month
        ("2024-02-29", -24, "2022-02-28"),  # a leap day two years back
        ("2024-08-31", -6, "2024-02-29"),  # back into a leap February
        ("2025-03-15", -3, "2024-12-15"),  # across a year boundary
        ("2025-06-03", 0, "2025-06-03"),
    ],
)
def test_add_months_counts_calendar_months(start: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(start), months) == dt.date.fromisoformat(expected)
