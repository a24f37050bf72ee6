"""The claims file (CLAIMS.md §3): one outpatient 门特 visit per line, validated on its own, a
bad line named by its number and field and the rest kept. Money is read from strings or numbers
into ``Decimal`` (never float) with at most two decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from agent.core.i18n import _
from agent.core.jsonl import BadLine, not_utf8, parse_line, read_lines

CENT = Decimal("0.01")
Scheme = Literal["职工医保", "居民医保"]
Category = Literal["甲", "乙", "丙"]


def _money(v: object) -> Decimal:
    """A yuan amount: a string or a JSON number, non-negative, at most 2 decimals (floats are read
    through their shortest repr, so 31.77 stays 31.77)."""
    if isinstance(v, bool) or not isinstance(v, (str, int, float, Decimal)):
        raise ValueError(_("must be an amount in yuan (a string or a number)"))
    try:
        d = Decimal(str(v).strip()) if not isinstance(v, Decimal) else v
    except InvalidOperation:
        raise ValueError(_("not an amount: {value}", value=repr(str(v)[:20]))) from None
    if not d.is_finite() or d < 0:
        raise ValueError(_("must be a finite amount ≥ 0"))
    if d != d.quantize(CENT):
        raise ValueError(_("has more than 2 decimals"))
    return d.quantize(CENT)


Money = Annotated[Decimal, BeforeValidator(_money)]


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)  # unknown keys ignored


def _region(v: str) -> str:
    if not (len(v) == 6 and v.isdigit()):
        raise ValueError(_("must be a 6-digit administrative code"))
    return v


class Hospital(_Line):
    """The treating hospital: its code, its region (the 就医地) and whether it is designated."""

    code: str = Field(min_length=1, max_length=30)
    name: str | None = None
    region_code: Annotated[str, BeforeValidator(lambda v: _region(str(v)) if isinstance(v, (str, int)) else v)]
    designated: bool


class Filing(_Line):
    """An 异地就医 filing and its validity (both ends included)."""

    valid_from: dt.date
    valid_until: dt.date

    def covers(self, day: dt.date) -> bool:
        """Whether the filing is valid on ``day``."""
        return self.valid_from <= day <= self.valid_until


class ClaimItem(_Line):
    """One item line: a drug (with days_supply) or a service."""

    generic: str = Field(min_length=1)
    name: str | None = None
    category: Category
    amount: Money
    days_supply: int | None = Field(default=None, ge=0)


class ClaimLine(_Line):
    """One line of ``claims.jsonl``."""

    claim_id: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=15, max_length=30)
    scheme: Scheme
    insured_region_code: str
    service_date: dt.date
    hospital: Hospital
    cross_region_filing: Filing | None = None
    disease: str = Field(min_length=1, max_length=100)
    items: list[ClaimItem] = Field(min_length=1)

    _check_region = field_validator("insured_region_code")(classmethod(lambda cls, v: _region(v)))

    @property
    def total(self) -> Decimal:
        """Sum of the item amounts."""
        return sum((i.amount for i in self.items), Decimal("0.00"))

    @property
    def cross_province(self) -> bool:
        """Insured in another province than the hospital's (first two digits of the codes)."""
        return self.insured_region_code[:2] != self.hospital.region_code[:2]

    @property
    def order_key(self) -> tuple[dt.date, str]:
        """Claims of a person are processed in (service_date, claim_id) order."""
        return (self.service_date, self.claim_id)


def parse_claim(lineno: int, raw: str | bytes) -> ClaimLine | BadLine:
    """One line of a claims file: parsed and validated in one step by pydantic-core (claims files
    run to hundreds of thousands of lines); a line that fails is parsed again by ``parse_line``
    for its named error. ``UnicodeDecodeError`` for bytes that are not UTF-8."""
    try:
        return ClaimLine.model_validate_json(raw)
    except ValidationError:
        pass
    return parse_line(lineno, raw.decode("utf-8") if isinstance(raw, bytes) else raw, ClaimLine)


def read_claims(path: Path) -> tuple[list[tuple[int, ClaimLine]], list[BadLine]]:
    """Every claim of ``path`` with its line number, and the lines that are not valid claims."""
    if not path.is_file():
        return read_lines(path, ClaimLine)  # its error names the missing file
    good: list[tuple[int, ClaimLine]] = []
    bad: list[BadLine] = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a BOM, as utf-8-sig reads it
            if not raw.strip():
                continue
            try:
                parsed = parse_claim(lineno, raw)
            except UnicodeDecodeError:
                raise not_utf8(path) from None
            if isinstance(parsed, BadLine):
                bad.append(parsed)
            else:
                good.append((lineno, parsed))
    return good, bad


__all__ = ["BadLine", "ClaimItem", "ClaimLine", "Filing", "Hospital", "Money", "parse_claim", "read_claims"]
