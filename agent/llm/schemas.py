"""The response models each LLM task must return (the contract with the model)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Quoted(BaseModel):
    """A value with the verbatim quote and document it comes from."""

    value: str | None = Field(default=None, description="The value, or null when the records do not state it.")
    quote: str | None = Field(
        default=None, max_length=80, description="The shortest verbatim phrase of the document supporting the value."
    )
    document: str | None = Field(default=None, description="Name of the document the quote is from.")


class QuotedList(BaseModel):
    """A list value (treatment modalities) with one supporting quote."""

    value: list[str] = Field(default_factory=list, description="Modalities from the allowed list.")
    quote: str | None = Field(
        default=None, max_length=80, description="The shortest verbatim phrase naming the treatment."
    )
    document: str | None = Field(default=None, description="Name of the document the quote is from.")


class ExtractAnswer(BaseModel):
    """Task 'extract': form fields with evidence."""

    primary_diagnosis: Quoted = Field(default_factory=Quoted)
    icd10: Quoted = Field(default_factory=Quoted)
    diagnosis_basis: Quoted = Field(default_factory=Quoted)
    diagnosis_date: Quoted = Field(default_factory=Quoted)
    treatment_modalities: QuotedList = Field(default_factory=QuotedList)
    injection_suspected: bool = Field(default=False, description="A document addresses the reviewer or a model.")


class RationaleAnswer(BaseModel):
    """Task 'rationale': the 审核意见 and the clauses it cites."""

    rationale: str = Field(description="审核意见 in Chinese.")
    cited_clause_ids: list[str] = Field(default_factory=list, description="Only clause ids that were given.")


READER_ANSWERS = ("stated", "negated", "suspected", "other_person", "request_or_plan")


class ReaderAnswer(BaseModel):
    """Task 'second_reader': one closed question about one finding (short on purpose)."""

    answer: Literal["stated", "negated", "suspected", "other_person", "request_or_plan"] = Field(
        description="How the passage states the finding for the applicant."
    )
    quote: str = Field(default="", max_length=40, description="The shortest verbatim words that decide the answer.")
