"""JSON Lines input read line by line: each line validated on its own against a pydantic model,
a bad line reported with its number and field, the rest kept (registry imports, claims files)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agent.core.errors import InvalidInputError
from agent.core.i18n import _, validation_message

M = TypeVar("M", bound=BaseModel)


@dataclass
class BadLine:
    """A line that was not imported, and why."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = _("line {n}", n=self.line) + (_(", field {field}", field=repr(self.field)) if self.field else "")
        return f"{where}: {self.message}"


def _first_error(exc: ValidationError) -> tuple[str | None, str]:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or None
    return loc, validation_message(e, strip_prefix=False)


def read_lines(path: Path, model: type[M]) -> tuple[list[tuple[int, M]], list[BadLine]]:
    """Every line of ``path`` validated as ``model``; blank lines are skipped."""
    if not path.is_file():
        raise InvalidInputError(
            _("no such file: {path}", path=path), _("Pass a JSON Lines file (one JSON object per line).")
        )
    good: list[tuple[int, M]] = []
    bad: list[BadLine] = []
    for lineno, raw in _numbered(path):
        if not raw.strip():
            continue
        parsed = parse_line(lineno, raw, model)
        if isinstance(parsed, BadLine):
            bad.append(parsed)
        else:
            good.append((lineno, parsed))
    return good, bad


def parse_line(lineno: int, raw: str, model: type[M]) -> M | BadLine:
    """One line validated as ``model``, or the BadLine that says why not."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return BadLine(lineno, None, _("not valid JSON ({error})", error=exc.msg))
    if not isinstance(obj, dict):
        return BadLine(lineno, None, _("not a JSON object"))
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        return BadLine(lineno, *_first_error(exc))


def not_utf8(path: Path) -> InvalidInputError:
    """The error of a file that is not UTF-8 text."""
    return InvalidInputError(_("{path}: not UTF-8 text", path=path), _("Save the file as UTF-8 JSON Lines."))


def _numbered(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            yield from enumerate(fh, 1)
    except UnicodeDecodeError:
        raise not_utf8(path) from None
