"""Reading an import file line by line (CLAIMS.md §1–2): each line validated on its own, a bad
line reported with its number and field, the rest kept."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.core.i18n import _
from agent.core.jsonl import BadLine, read_lines

EXIT_TYPES = ("death", "insurance_stopped", "moved_out")  # end certifications early; insurance_resumed does not

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
            raise ValueError(_("must be a 6-digit administrative code"))
        return v


class EventLine(_Line):
    """One line of ``events.jsonl``."""

    event_id: str = Field(min_length=1, max_length=64)
    type: Literal["death", "insurance_stopped", "moved_out", "insurance_resumed"]
    id_number: str = Field(min_length=15, max_length=30)
    date: dt.date


__all__ = ["EXIT_TYPES", "BadLine", "CertificationLine", "EventLine", "read_lines"]
