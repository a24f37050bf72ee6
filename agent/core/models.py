"""Domain types (pydantic v2). No I/O here: these are the contracts between rooms and with users."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.core.i18n import _

Decision = Literal["approve", "reject", "need_info"]
CheckStatus = Literal["pass", "fail", "unknown"]
Basis = Literal["pathology", "cytology", "clinical", "none"]
# the enums of case.json (docs/CASES.md): a value outside them must not decide a case
InsuranceScheme = Literal["职工医保", "居民医保"]
InsuranceStatus = Literal["正常参保", "暂停参保", "终止参保"]
Sex = Literal["男", "女"]

FORM_FIELDS = (
    "primary_diagnosis",
    "icd10",
    "diagnosis_basis",
    "diagnosis_date",
    "treatment_modalities",
    "cross_region",
)


def _region_code(cls: type, v: str) -> str:
    """A 6-digit administrative region code (参保地, 就医地)."""
    if not (isinstance(v, str) and len(v) == 6 and v.isdigit()):
        raise ValueError(_("must be a 6-digit administrative code"))
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------- case input
class CrossRegionFiling(_Model):
    """异地就医备案 of the applicant."""

    filed: bool = Field(description="Whether a filing exists.")
    valid_from: dt.date | None = Field(default=None, description="First day the filing is valid.")
    valid_until: dt.date | None = Field(default=None, description="Last day the filing is valid (None: open-ended).")


class Insurance(_Model):
    """The applicant's basic medical insurance."""

    scheme: InsuranceScheme = Field(description="职工医保 | 居民医保")
    region_code: str = Field(description="参保地: 6-digit administrative code.")
    region_name: str | None = Field(default=None, description="参保地 name.")
    status: InsuranceStatus = Field(description="正常参保 | 暂停参保 | 终止参保")
    cross_region_filing: CrossRegionFiling | None = Field(default=None, description="异地就医备案, or None.")

    _six_digits = field_validator("region_code")(_region_code)


class Applicant(_Model):
    """Who applies."""

    name: str = Field(description="Full name.")
    id_number: str = Field(description="Resident ID number (18 characters).")
    sex: Sex | None = Field(default=None, description="男 | 女")
    birth_date: dt.date | None = Field(default=None, description="Date of birth.")
    insurance: Insurance

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, v: dt.date | None) -> dt.date | None:
        if v is not None and v > dt.date.today():
            raise ValueError(_("{date} is in the future", date=v.isoformat()))
        return v


class Hospital(_Model):
    """The institution that certifies (就医地)."""

    name: str
    region_code: str = Field(description="就医地: 6-digit administrative code.")
    designated: bool = Field(description="Whether it is a 定点医疗机构.")

    _six_digits = field_validator("region_code")(_region_code)


class ExistingCertification(_Model):
    """A certification the applicant already holds."""

    disease: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class CaseInfo(_Model):
    """The content of ``case.json``."""

    schema_version: int = 1
    case_id: str
    submitted_at: dt.datetime
    applicant: Applicant
    hospital: Hospital
    requested_disease: str | None = None
    existing_certifications: list[ExistingCertification] = Field(default_factory=list)

    @property
    def application_date(self) -> dt.date:
        """The date every rule is compared on."""
        return self.submitted_at.date()

    def date_problems(self) -> list[tuple[str, str]]:
        """(field, message) for dates that contradict each other: nobody applies before being born."""
        bd = self.applicant.birth_date
        if bd is not None and bd >= self.application_date:
            return [
                (
                    "applicant.birth_date",
                    _(
                        "{birth} is not before the application date {applied}",
                        birth=bd.isoformat(),
                        applied=self.application_date.isoformat(),
                    ),
                )
            ]
        return []


class Document(_Model):
    """One medical record document, as extracted text."""

    name: str = Field(description="Path relative to the case folder, e.g. records/病理报告.txt.")
    text: str = Field(description="Extracted text; evidence offsets point into it.")
    format: str = Field(description="txt | md | json | pdf | docx")
    encoding: str | None = Field(default=None, description="Detected text encoding, where relevant.")
    title: str | None = Field(default=None, description="Title from a JSON export.")
    declared_date: str | None = Field(default=None, description="Date field of a JSON export (unverified).")


class SkippedDocument(_Model):
    """A record that could not be read, and what to do about it."""

    document: str
    reason: str
    hint: str | None = None


class Case(_Model):
    """A case folder, loaded."""

    info: CaseInfo
    folder: str
    documents: list[Document] = Field(default_factory=list)
    skipped: list[SkippedDocument] = Field(default_factory=list)
    form_json: dict[str, Any] | None = Field(default=None, description="A physician's form.json, if present.")

    @property
    def case_id(self) -> str:
        return self.info.case_id


# ---------------------------------------------------------------- evidence and form
class Span(_Model):
    """A quote in a record: ``text[start:end] == quote`` in the named document."""

    document: str
    quote: str
    start: int
    end: int


class FormField(_Model):
    """One filled form field with the evidence it rests on."""

    value: Any = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: list[Span] = Field(default_factory=list)
    source: str = Field(default="offline", description="Which extractor filled it: offline | llm | case.json")


class Provenance(_Model):
    """How a result was produced."""

    tool_version: str
    backend: str = "offline"
    model: str | None = None
    kb_version: str | None = None
    catalog_hash: str | None = None
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    elapsed_ms: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    flag_reasons: dict[str, str] = Field(
        default_factory=dict, description="Why a flag no record quote explains was raised, e.g. LLM_FALLBACK."
    )


class DocumentSummary(_Model):
    """What one record is and whom it is about."""

    document: str
    kind: str = Field(description="Document kind, e.g. 病理报告, 出院小结.")
    date: dt.date | None = Field(default=None, description="The document's own date (报告日期/出院日期/就诊日期).")
    patient_name: str | None = None
    patient_id_number: str | None = None
    matches_applicant: bool = True
    problems: list[str] = Field(default_factory=list)


class ApplicationForm(_Model):
    """The 门特 application form: fields with evidence, and what is missing."""

    case_id: str
    disease: str | None
    disease_proposed: bool = Field(default=False, description="True when the tool proposed the disease.")
    fields: dict[str, FormField]
    missing: list[str] = Field(default_factory=list)
    disagreements: list[dict[str, Any]] = Field(default_factory=list)
    skipped: list[SkippedDocument] = Field(default_factory=list)
    documents: list[DocumentSummary] = Field(default_factory=list, description="Each record: kind, date, whom.")
    flags: list[str] = Field(default_factory=list)
    provenance: Provenance


# ---------------------------------------------------------------- review
class Citation(_Model):
    """A knowledge-base clause cited for a check or a recommendation."""

    clause_id: str
    title: str | None = None
    topics: list[str] = Field(default_factory=list)
    quote: str = ""


class Check(_Model):
    """One rule check (RULES.md §2)."""

    id: str
    name: str = ""
    status: CheckStatus
    reason_code: str | None = None
    detail: str = Field(default="", description="One Chinese sentence a reviewer reads.")
    evidence: list[Span] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


class ErrorInfo(_Model):
    """Why a case could not be processed."""

    code: str
    message: str
    field: str | None = None


class SignOffState(BaseModel):
    """The reviewer's current decision on a case, as the registry records it."""

    decision: Literal["approve", "reject", "need_info"]
    reviewer: str
    decided_at: str = Field(description="ISO timestamp of the decision.")
    overrides: bool = Field(description="Whether it differs from the AI recommendation it was shown.")


class Recommendation(_Model):
    """The review outcome of one case."""

    case_id: str
    decision: Decision | None
    disease: str | None = None
    reason_codes: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    form: ApplicationForm | None = None
    rationale: str = ""
    flags: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list, description="Notes the LLM agent added (never decisive).")
    flag_evidence: dict[str, list[Span]] = Field(
        default_factory=dict, description="Quotes behind each flag (e.g. the injected instruction)."
    )
    error: ErrorInfo | None = None
    submitted_at: str | None = None
    sign_off: SignOffState | None = Field(default=None, description="The reviewer's decision, once signed off.")
    provenance: Provenance


# ---------------------------------------------------------------- knowledge base
class Clause(_Model):
    """One article (第X条) of a policy document."""

    clause_id: str
    doc_id: str
    title: str
    article: str
    chapter: str | None = None
    page: int | None = None
    topics: list[str] = Field(default_factory=list)
    text: str


class SearchHit(_Model):
    """A knowledge-base search result (the JSON shape of ``kb search --json``)."""

    clause_id: str
    doc_id: str
    title: str
    article: str
    topics: list[str]
    score: float
    text: str
    page: int | None = None
