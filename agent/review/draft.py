"""Task: Case -> ApplicationForm (physicians). Every field filled with its evidence; what the
records do not support is listed as what to add."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agent import __version__
from agent.assess import Assessment, assess, assess_uncovered
from agent.core.catalog import Catalog
from agent.core.models import FORM_FIELDS, ApplicationForm, Case, FormField, Provenance, Span
from agent.extract.analysis import CaseAnalysis

PROPOSAL_ORDER = ("tumour", "transplant", "dialysis", "diabetes", "hypertension")


@dataclass
class DraftResult:
    """The form plus what the checks need from the same reading of the records."""

    form: ApplicationForm
    analysis: CaseAnalysis
    assessment: Assessment


def choose_disease(an: CaseAnalysis, catalog: Catalog) -> Assessment:
    """Propose the covered disease the records best support (requested_disease missing)."""
    scored = []
    for d in catalog.diseases:
        a = assess(an, d)
        if a.scope == "no_diagnosis":
            continue
        score = (
            0 if a.status == "met" else 1 if a.status in ("expired", "unconfirmed") else 2,
            0 if a.scope == "pass" else 1,
            a.rank,
            PROPOSAL_ORDER.index(d.kind) if d.kind in PROPOSAL_ORDER else 9,
        )
        scored.append((score, a))
    if not scored:
        return Assessment(
            disease=None,
            scope="no_diagnosis",
            scope_detail="病历中未找到任何门特病种的诊断",
            missing=["提供载明诊断的出院小结、诊断证明或病理报告"],
        )
    return min(scored, key=lambda sa: sa[0])[1]


def _field(value: Any, spans: list[Span], confidence: float, source: str = "offline") -> FormField:
    return FormField(value=value, confidence=round(confidence, 2), evidence=spans, source=source)


def build_fields(case: Case, a: Assessment) -> dict[str, FormField]:
    """The form fields of CASES.md plus the applicant, insurance, hospital and date fields."""
    info = case.info
    ap, ins = info.applicant, info.applicant.insurance
    conf = a.confidence
    basis_conf = 0.9 if a.basis != "none" else 0.6
    fields = {
        "primary_diagnosis": _field(a.primary_name, a.primary_spans, conf if a.primary_name else 0.0),
        "icd10": _field(a.icd10, a.icd_spans, conf if a.icd10 else 0.0),
        "diagnosis_basis": _field(a.basis, a.evidence_spans if a.basis != "none" else [], basis_conf),
        "diagnosis_date": _field(
            a.basis_date.isoformat() if a.basis_date else None,
            a.basis_spans,
            0.9 if a.basis_date else (0.7 if a.basis == "none" else 0.3),
        ),
        "treatment_modalities": _field(a.modalities, a.modality_spans, 0.85 if a.modalities else 0.6),
        "cross_region": _field(ins.region_code != info.hospital.region_code, [], 1.0, "case.json"),
    }
    filing = ins.cross_region_filing
    from_case = {
        "applicant_name": ap.name,
        "applicant_id_number": ap.id_number,
        "applicant_sex": ap.sex,
        "applicant_birth_date": ap.birth_date.isoformat() if ap.birth_date else None,
        "insurance_scheme": ins.scheme,
        "insurance_region": f"{ins.region_name or ''}（{ins.region_code}）",
        "insurance_status": ins.status,
        "cross_region_filing": (
            f"已备案 {filing.valid_from or ''}至{filing.valid_until or '长期'}" if filing and filing.filed else "未备案"
        ),
        "hospital_name": info.hospital.name,
        "hospital_region": info.hospital.region_code,
        "hospital_designated": info.hospital.designated,
        "application_date": info.application_date.isoformat(),
    }
    for k, v in from_case.items():
        fields[k] = _field(v, [], 1.0, "case.json")
    return fields


def compare_form(form_json: dict[str, Any], fields: dict[str, FormField]) -> list[dict[str, Any]]:
    """Where a physician's form.json disagrees with what the records show."""
    from agent.review.fieldmatch import field_matches

    given = form_json.get("fields", form_json)
    out = []
    for name in FORM_FIELDS:
        if name not in given:
            continue
        raw = given[name]
        value = raw.get("value") if isinstance(raw, dict) else raw
        ours = fields[name].value
        if ours in (None, [], "none") and name != "cross_region":
            continue  # the records say nothing to contradict it
        if not field_matches(name, value, ours):
            out.append(
                {
                    "field": name,
                    "form_value": value,
                    "record_value": ours,
                    "evidence": [s.model_dump() for s in fields[name].evidence],
                }
            )
    return out


def draft_case(case: Case, catalog: Catalog, *, kb_version: str | None = None) -> DraftResult:
    """Fill the application form of ``case`` from its records (offline extractor)."""
    t0 = time.perf_counter()
    an = CaseAnalysis(case, catalog)
    requested = case.info.requested_disease
    proposed = False
    if requested:
        d = catalog.disease(requested)
        a = assess(an, d) if d is not None else assess_uncovered(an, requested)
    else:
        a = choose_disease(an, catalog)
        proposed = a.disease is not None
    fields = build_fields(case, a)
    missing = list(dict.fromkeys(a.missing))
    for s in case.skipped:
        missing.append(f"无法读取 {s.document}（{s.reason}）：请重新提供")
    flags = []
    if an.injections or an.injection_titles:
        flags.append("PROMPT_INJECTION_SUSPECTED")
    if any(i.problems for i in an.identities.values()):
        flags.append("IDENTITY_MISMATCH")
    if case.skipped:
        flags.append("DOCUMENTS_SKIPPED")
    disagreements = compare_form(case.form_json, fields) if case.form_json else []
    from agent.core.models import DocumentSummary
    from agent.extract.document import KIND_LABEL

    documents = [
        DocumentSummary(
            document=v.name,
            kind=KIND_LABEL.get(v.kind, v.kind),
            date=v.date,
            patient_name=an.identities[v.name].name,
            patient_id_number=an.identities[v.name].id_number,
            matches_applicant=not an.identities[v.name].problems,
            problems=[p[0] for p in an.identities[v.name].problems],
        )
        for v in an.views
    ]
    elapsed = (time.perf_counter() - t0) * 1000
    form = ApplicationForm(
        case_id=case.case_id,
        disease=a.disease.name if a.disease else requested,
        disease_proposed=proposed,
        fields=fields,
        missing=missing,
        disagreements=disagreements,
        skipped=case.skipped,
        documents=documents,
        flags=flags,
        provenance=Provenance(
            tool_version=__version__,
            backend="offline",
            kb_version=kb_version,
            catalog_hash=catalog.sha256[:16],
            elapsed_ms=round(elapsed, 2),
        ),
    )
    return DraftResult(form=form, analysis=an, assessment=a)
