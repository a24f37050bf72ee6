"""Typed criteria of the disease catalogue: the parameters, and one criteria model per disease
kind (a discriminated union on ``kind``). Every key is declared here; an unknown or misspelt key
is rejected at load (``CatalogError``), and a missing one is an error naming it, never a default."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.core.errors import CertreviewError
from agent.core.i18n import _, validation_message

T = TypeVar("T")

Basis = Literal["pathology", "cytology", "clinical"]
# document kinds the extractor assigns (agent.extract.document.KIND_LABEL; a test keeps them equal)
DocKind = Literal[
    "cytology",
    "pathology",
    "dialysis",
    "operation",
    "certificate",
    "discharge",
    "admission",
    "prescription",
    "imaging",
    "lab",
    "consult",
    "outpatient",
    "other",
]
# treatment modalities the lexicon maps drugs to (agent.extract.lexicon.MODALITIES; a test keeps them equal)
Modality = Literal[
    "radiotherapy",
    "chemotherapy",
    "targeted",
    "endocrine",
    "immunotherapy",
    "dialysis",
    "anti_rejection",
    "antihypertensive",
    "hypoglycaemic",
]
Kind = Literal["tumour", "dialysis", "transplant", "hypertension", "diabetes"]
KINDS: tuple[str, ...] = ("tumour", "dialysis", "transplant", "hypertension", "diabetes")
LEVEL_CN = {1: "一级", 2: "二级", 3: "三级"}

Months = Annotated[int, Field(ge=1, le=240)]
Words = Annotated[list[str], Field(min_length=1)]
Findings = Annotated[dict[str, Words], Field(min_length=1)]


class CatalogError(CertreviewError):
    """The catalogue file is missing, not YAML, or has a key that is unknown, misspelt, missing
    or of the wrong type; ``problems`` names each one (``kb check`` lists them)."""

    exit_code = 2

    def __init__(self, path: str, problems: list[str], hint: str | None = None, *, message: str | None = None) -> None:
        super().__init__(
            message or _("catalogue {path} is invalid: {problems}", path=path, problems="; ".join(problems)),
            hint
            or _(
                "Correct the key named in the catalogue: every key is read, so an unknown or misspelt one is an "
                "error, not a default. `certreview kb check` lists every problem."
            ),
        )
        self.path = path
        self.problems = problems


def months_cn(months: int) -> str:
    """A window in the wording of the policy: 24 -> ``2年``, 18 -> ``18个月``."""
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def num(x: float) -> str:
    """A threshold as written in a message: 15.0 -> ``15``, 2.5 -> ``2.5``."""
    return f"{x:g}"


class Strict(BaseModel):
    """A catalogue block: a key not declared here is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Param(Strict, Generic[T]):
    """A region parameter and the clause that states it."""

    value: T
    clause_id: str


class Parameters(Strict):
    """Parameters every check reads (RULES.md §1–2)."""

    validity_months: Param[Months] = Field(description="认定有效期 from the application date.")
    renewal_window_months: Param[Months] = Field(description="Months before expiry in which renewal is allowed.")
    evidence_max_age_months: Param[Months] = Field(description="Newest qualifying document at most this old.")
    include_in_situ: Param[bool] = Field(description="Whether in-situ tumours (D00–D09) qualify.")
    active_insurance_statuses: Param[Words] = Field(description="Insurance statuses that count as insured.")


class _Criteria(Strict):
    clause_id: str = Field(description="The 认定标准 clause stating these criteria.")


class TumourCriteria(_Criteria):
    """恶性肿瘤门诊治疗: pathology, cytology, or a clinical diagnosis with imaging."""

    basis_order: list[Basis] = Field(description="Which basis names the evidence when several qualify.")
    imaging: Words = Field(description="Words that name supporting imaging (CT, MRI, PET-CT …).")
    clinical_documents: Annotated[list[DocKind], Field(min_length=1)] = Field(
        description="Kinds of document in which a clinical diagnosis counts."
    )
    min_hospital_level_clinical: int = Field(ge=1, le=3, description="Lowest hospital level for a clinical diagnosis.")

    @field_validator("basis_order")
    @classmethod
    def _each_basis_once(cls, v: list[str]) -> list[str]:
        if sorted(v) != sorted(("pathology", "cytology", "clinical")):
            raise ValueError(_("must list pathology, cytology and clinical, each once"))
        return v


class DialysisCriteria(_Criteria):
    """尿毒症透析: eGFR or creatinine in enough reports of different dates, or dialysis records."""

    egfr_max: float = Field(gt=0, description="eGFR at or below this (ml/min/1.73m²) qualifies.")
    scr_min_umol_l: float = Field(gt=0, description="Serum creatinine at or above this (μmol/L) qualifies.")
    min_reports: int = Field(ge=1, description="Qualifying laboratory reports of different dates needed.")


class TransplantCriteria(_Criteria):
    """器官移植术后抗排异治疗: a transplant record and enough recent anti-rejection prescriptions."""

    min_prescriptions: int = Field(ge=1, description="Prescriptions of different dates needed in the window.")
    window_months: Months = Field(description="Prescriptions count within this many months before application.")
    drugs: Words = Field(description="Anti-rejection drugs (names as the lexicon knows them) whose orders count.")


class HypertensionCriteria(_Criteria):
    """高血压（伴并发症）: grade or blood pressure, and a target-organ finding."""

    min_grade: int = Field(ge=1, le=3, description="Lowest hypertension grade (高血压N级) that qualifies.")
    sbp_min: int = Field(gt=0, description="Systolic pressure at or above this (mmHg) qualifies.")
    dbp_min: int = Field(gt=0, description="Diastolic pressure at or above this (mmHg) qualifies.")
    findings: Findings = Field(description="Target-organ damage: name -> words that state it.")


class DiabetesCriteria(_Criteria):
    """糖尿病（伴并发症）: diagnosis, a complication, and (if required) glucose-lowering therapy."""

    requires_therapy: bool = Field(description="Whether hypoglycaemic or insulin therapy is required.")
    findings: Findings = Field(description="Complications: name -> words that state it.")


class CodeRule(Strict):
    """Which ICD-10 codes qualify for a disease."""

    qualifying: Words = Field(description="WHO codes or ranges (C00-C97, N18.5, Z94).")
    in_situ: list[str] = Field(default_factory=list, description="Codes that qualify only if include_in_situ.")
    with_kidney_failure: list[str] = Field(default_factory=list, description="Qualify with a kidney-failure diagnosis.")
    also: list[str] = Field(default_factory=list, description="Codes accepted beside a qualifying one.")
    clause_id: str


class Treatment(Strict):
    """Covered treatments and whether the disease needs a plan (check 5)."""

    required: bool
    modalities: Annotated[list[Modality], Field(min_length=1)]
    clause_id: str


class Disease(Strict):
    """One covered disease (the fields every kind shares)."""

    name: str
    kind: str
    national_code: str | None = None
    aliases: list[str] = Field(default_factory=list)
    icd10: CodeRule
    evidence: _Criteria
    treatment: Treatment

    def clause_ids(self) -> list[str]:
        """Every clause this disease's rules cite."""
        return [self.icd10.clause_id, self.evidence.clause_id, self.treatment.clause_id]


class TumourDisease(Disease):
    """A disease of kind ``tumour`` (恶性肿瘤门诊治疗)."""

    kind: Literal["tumour"]
    evidence: TumourCriteria


class DialysisDisease(Disease):
    """A disease of kind ``dialysis`` (尿毒症透析)."""

    kind: Literal["dialysis"]
    evidence: DialysisCriteria


class TransplantDisease(Disease):
    """A disease of kind ``transplant`` (器官移植术后抗排异治疗)."""

    kind: Literal["transplant"]
    evidence: TransplantCriteria


class HypertensionDisease(Disease):
    """A disease of kind ``hypertension`` (高血压（伴并发症）)."""

    kind: Literal["hypertension"]
    evidence: HypertensionCriteria


class DiabetesDisease(Disease):
    """A disease of kind ``diabetes`` (糖尿病（伴并发症）)."""

    kind: Literal["diabetes"]
    evidence: DiabetesCriteria


AnyDisease = Annotated[
    TumourDisease | DialysisDisease | TransplantDisease | HypertensionDisease | DiabetesDisease,
    Field(discriminator="kind"),
]


class RuleClauses(Strict):
    """Clauses cited for one check."""

    clause_ids: Words


class Rules(Strict):
    """Clauses cited for each check (RULES.md §2); the first one of each topic is quoted."""

    insurance_status: RuleClauses
    designated_hospital: RuleClauses
    disease_scope: RuleClauses
    diagnosis_evidence: RuleClauses
    treatment_plan: RuleClauses
    duplicate: RuleClauses
    cross_region: RuleClauses
    identity: RuleClauses
    renewal: RuleClauses
    injection: RuleClauses


# ---------------------------------------------------------------- load errors, named
def _vocabulary() -> set[str]:
    models: list[type[BaseModel]] = [Parameters, Param, Rules, RuleClauses, CodeRule, Treatment, Disease]
    models += [TumourCriteria, DialysisCriteria, TransplantCriteria, HypertensionCriteria, DiabetesCriteria]
    words = {"catalog_version", "region", "parameters", "rules", "diseases"}
    return words | {f for m in models for f in m.model_fields}


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """``diseases[尿毒症透析].evidence`` for a pydantic location (list items by their name)."""
    out, node, i = "", data, 0
    while i < len(loc):
        p = loc[i]
        if isinstance(p, int):
            item = node[p] if isinstance(node, list) and p < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[{name or p}]"
            node = item
            # a discriminated union puts the member's tag after the index: skip it
            if isinstance(item, dict) and i + 1 < len(loc) and loc[i + 1] == item.get("kind"):
                i += 1
        else:
            out += f".{p}" if out else str(p)
            node = node.get(p) if isinstance(node, dict) else None
        i += 1
    return out


def problems_of(exc: ValidationError, data: Any) -> list[str]:
    """One sentence per invalid key, naming where it is: unknown (with the likely meant key),
    missing, unknown disease kind, or a value of the wrong type or range."""
    errors = exc.errors()
    missing = {(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "missing"}
    vocab, claimed, out = _vocabulary(), set(), []
    for e in errors:
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            key, parent = str(loc[-1]), loc[:-1]
            siblings = [k for p, k in missing if p == parent]
            guess = difflib.get_close_matches(key, siblings, n=1, cutoff=0.6) or difflib.get_close_matches(
                key, vocab, n=1, cutoff=0.8
            )
            if guess and guess[0] in siblings:
                claimed.add((parent, guess[0]))
            where = _where(parent, data)
            meant = _(" (did you mean '{key}'?)", key=guess[0]) if guess else ""
            out.append(f"{where + ': ' if where else ''}" + _("unknown key '{key}'", key=key) + meant)
        elif e["type"] == "union_tag_invalid":
            tag = e.get("ctx", {}).get("tag")
            kinds = ", ".join(KINDS)
            out.append(
                f"{_where(loc, data)}.kind: " + _("unknown kind '{kind}' (one of {kinds})", kind=tag, kinds=kinds)
            )
        elif e["type"] == "union_tag_not_found":
            out.append(f"{_where(loc, data)}: " + _("missing key 'kind' (one of {kinds})", kinds=", ".join(KINDS)))
    for e in errors:
        loc = tuple(e["loc"])
        if e["type"] == "missing" and (loc[:-1], str(loc[-1])) not in claimed:
            where = _where(loc[:-1], data)
            out.append(f"{where + ': ' if where else ''}" + _("missing key '{key}'", key=loc[-1]))
        elif e["type"] not in ("missing", "extra_forbidden", "union_tag_invalid", "union_tag_not_found"):
            where = _where(loc, data) or _("catalogue")
            out.append(f"{where}: {validation_message(e, strip_prefix=False)}")
    return out
