"""Reading an import file line by line (CLAIMS.md §1–2): each line validated on its own, a bad
line reported with its number and field, the rest kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.core.errors import InvalidInputError

EXIT_TYPES = ("death", "insurance_stopped", "moved_out")  # end certifications early; insurance_resumed does not

M = TypeVar("M", bound=BaseModel)


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)  # unknown keys kept out


class CertificationLine(_Line):
    """One line of ``certifications.jsonl``."""

    certification_id: str | None = Field(default=None, min_length=1, max_length=64)
    id_number: str = Field(min_length=15, max_length=30)
    name: str | None = None
    scheme: Literal["职工医保", "居民医保"] | None = None
    region_code: str | None = None
    disease: str = Field(min_length=1, max_length=100)
    icd10: str | None = None
    valid_from: dt.date
    valid_until: dt.date | None = None
    institution: str | None = None
    institution_code: str | None = None
    case_id: str | None = None

    @field_validator("region_code")
    @classmethod
    def _six_digits(cls, v: str | None) -> str | None:
        if v is not None and not (len(v) == 6 and v.isdigit()):
            raise ValueError("must be a 6-digit administrative code")
        return v


class EventLine(_Line):
    """One line of ``events.jsonl``."""

    event_id: str = Field(min_length=1, max_length=64)
    type: Literal["death", "insurance_stopped", "moved_out", "insurance_resumed"]
    id_number: str = Field(min_length=15, max_length=30)
    date: dt.date


@dataclass
class BadLine:
    """A line that was not imported, and why."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field!r}" if self.field else "")
        return f"{where}: {self.message}"


def _first_error(exc: ValidationError) -> tuple[str | None, str]:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or None
    return loc, str(e.get("msg", "invalid"))


def read_lines(path: Path, model: type[M]) -> tuple[list[tuple[int, M]], list[BadLine]]:
    """Every line of ``path`` validated as ``model``; blank lines are skipped."""
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}", "Pass a JSON Lines file (one JSON object per line).")
    good: list[tuple[int, M]] = []
    bad: list[BadLine] = []
    for lineno, raw in _numbered(path):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            bad.append(BadLine(lineno, None, f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            bad.append(BadLine(lineno, None, "not a JSON object"))
            continue
        try:
            good.append((lineno, model.model_validate(obj)))
        except ValidationError as exc:
            bad.append(BadLine(lineno, *_first_error(exc)))
    return good, bad


def _numbered(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            yield from enumerate(fh, 1)
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text", "Save the file as UTF-8 JSON Lines.") from None
