"""The checks of RULES.md §2, in order, each with status, reason code, evidence and the
clauses that state it; and the decision they add up to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from agent.assess import Assessment
from agent.core.catalog import Catalog
from agent.core.certsource import CertificationSource
from agent.core.models import CaseInfo, Check, Citation, Clause, Decision, ExistingCertification, Span
from agent.extract.analysis import CaseAnalysis
from agent.extract.dates import add_months
from agent.extract.lexicon import MODALITY_CN
from agent.kb.topics import CHECK_TOPICS

ClauseLookup = Callable[[str], "Clause | None"]

CHECK_NAMES = {
    "insurance_status": "参保状态",
    "designated_hospital": "定点医疗机构",
    "disease_scope": "病种范围与诊断编码",
    "diagnosis_evidence": "认定依据",
    "treatment_plan": "治疗方案",
    "duplicate": "重复认定",
    "cross_region": "异地就医备案",
    "identity": "身份一致性",
}


@dataclass
class Cite:
    """Builds citations from catalogue clause ids (exact lookup, never by similarity)."""

    lookup: ClauseLookup

    def __call__(self, clause_ids: list[str], topics: list[str]) -> list[Citation]:
        """Citations of ``clause_ids`` that exist (``kb check`` verifies they carry ``topics``)."""
        out: list[Citation] = []
        for cid in dict.fromkeys(clause_ids):
            c = self.lookup(cid)
            if c is None:
                continue
            out.append(Citation(clause_id=c.clause_id, title=c.title, topics=c.topics, quote=c.text))
        return out


def _check(
    cid: str, status: str, code: str | None, detail: str, evidence: list[Span], citations: list[Citation]
) -> Check:
    return Check(
        id=cid,
        name=CHECK_NAMES.get(cid, cid),
        status=status,  # type: ignore[arg-type]
        reason_code=code,
        detail=detail,
        evidence=evidence,
        citations=citations,
    )


def run_checks(
    info: CaseInfo,
    an: CaseAnalysis,
    a: Assessment,
    catalog: Catalog,
    cite: Cite,
    source: CertificationSource | None = None,
) -> list[Check]:
    """All eight checks; none is skipped because an earlier one failed. ``source`` (the registry)
    adds to the certifications case.json lists for check 6."""
    checks = [
        check_insurance(info, catalog, cite),
        check_designated(info, catalog, cite),
        check_scope(info, a, catalog, cite),
        check_evidence(a, catalog, cite),
        check_treatment(a, catalog, cite),
        check_duplicate(info, a, catalog, cite, source),
        check_cross_region(info, catalog, cite),
        check_identity(an, catalog, cite),
    ]
    return checks


def _rule(catalog: Catalog, rule: str) -> list[str]:
    return catalog.rule_clauses(rule)


def check_insurance(info: CaseInfo, catalog: Catalog, cite: Cite) -> Check:
    """1. Insurance status on the application date."""
    status = info.applicant.insurance.status
    active = catalog.parameters.active_insurance_statuses.value
    cites = cite(_rule(catalog, "insurance_status"), CHECK_TOPICS["insurance_status"])
    if status in active:
        return _check("insurance_status", "pass", None, f"申请日参保状态为“{status}”。", [], cites)
    return _check(
        "insurance_status",
        "fail",
        "INSURANCE_INACTIVE",
        f"申请日参保状态为“{status}”，不属于{'、'.join(active)}，不予受理。",
        [],
        cites,
    )


def check_designated(info: CaseInfo, catalog: Catalog, cite: Cite) -> Check:
    """2. The hospital is a 定点医疗机构."""
    cites = cite(_rule(catalog, "designated_hospital"), CHECK_TOPICS["designated_hospital"])
    if info.hospital.designated:
        return _check("designated_hospital", "pass", None, f"{info.hospital.name}为定点医疗机构。", [], cites)
    return _check(
        "designated_hospital",
        "fail",
        "HOSPITAL_NOT_DESIGNATED",
        f"{info.hospital.name}不是定点医疗机构，其认定申请不予受理。",
        [],
        cites,
    )


def check_scope(info: CaseInfo, a: Assessment, catalog: Catalog, cite: Cite) -> Check:
    """3. The disease is in the catalogue and the diagnosis code qualifies."""
    ids = _rule(catalog, "disease_scope") + ([a.disease.icd10.clause_id] if a.disease else [])
    cites = cite(ids, CHECK_TOPICS["disease_scope"])
    ev = a.primary_spans + [s for s in a.icd_spans if s not in a.primary_spans]
    if a.scope == "pass":
        name = a.disease.name if a.disease else ""
        return _check(
            "disease_scope", "pass", None, f"主要诊断“{a.primary_name}”（{a.icd10}）属于{name}的认定范围。", ev, cites
        )
    if a.scope == "not_covered":
        return _check("disease_scope", "fail", "DISEASE_NOT_COVERED", a.scope_detail + "。", ev, cites)
    return _check("disease_scope", "unknown", "DIAGNOSIS_MISSING", a.scope_detail + "，需补充。", [], cites)


def check_evidence(a: Assessment, catalog: Catalog, cite: Cite) -> Check:
    """4. Certification evidence (认定标准)."""
    ids = ([a.disease.evidence.clause_id] if a.disease else []) + _rule(catalog, "diagnosis_evidence")
    cites = cite(ids, CHECK_TOPICS["diagnosis_evidence"])
    basis_cn = {"pathology": "病理报告", "cytology": "细胞学报告", "clinical": "临床诊断依据"}.get(a.basis, "")
    if a.status == "met":
        date = f"（{a.basis_date.isoformat()}）" if a.basis_date else ""
        return _check(
            "diagnosis_evidence",
            "pass",
            a.evidence_code,
            f"认定依据齐全：{basis_cn}{date}符合认定标准。",
            a.evidence_spans + a.basis_spans,
            cites,
        )
    if a.scope == "not_covered":
        return _check(
            "diagnosis_evidence",
            "unknown",
            "EVIDENCE_MISSING",
            "所申请病种无符合认定标准的依据。",
            a.evidence_spans,
            cites,
        )
    code = {"unconfirmed": "DIAGNOSIS_UNCONFIRMED", "expired": "EVIDENCE_EXPIRED"}.get(a.status, "EVIDENCE_MISSING")
    detail = a.detail or "缺少符合认定标准的材料"
    return _check("diagnosis_evidence", "unknown", code, detail + "。", a.evidence_spans + a.basis_spans, cites)


def check_treatment(a: Assessment, catalog: Catalog, cite: Cite) -> Check:
    """5. Treatment plan, where the disease needs one."""
    ids = ([a.disease.treatment.clause_id] if a.disease else []) + _rule(catalog, "treatment_plan")
    cites = cite(ids, CHECK_TOPICS["treatment_plan"])
    if a.disease is None or not a.disease.treatment.required:
        return _check("treatment_plan", "pass", None, "该病种认定不以治疗方案为前提。", a.modality_spans, cites)
    if a.plan:
        mods = "、".join(MODALITY_CN.get(m, m) for m in a.modalities)
        return _check("treatment_plan", "pass", None, f"病历记载抗肿瘤治疗：{mods}。", a.plan_spans, cites)
    return _check(
        "treatment_plan",
        "unknown",
        "TREATMENT_PLAN_MISSING",
        "病历未记载放疗、化疗、靶向、内分泌或免疫治疗的方案或记录。",
        [],
        cites,
    )


def _valid_until(cert: ExistingCertification, catalog: Catalog) -> dt.date | None:
    """The certificate's last day: as recorded, else ``validity_months`` from its start (the day
    before that date); None when neither is known (held as open-ended)."""
    if cert.valid_until is not None or cert.valid_from is None:
        return cert.valid_until
    return add_months(cert.valid_from, catalog.parameters.validity_months.value) - dt.timedelta(days=1)


def _held(info: CaseInfo, disease: str, source: CertificationSource | None) -> list[ExistingCertification]:
    """What case.json lists, then what the registry holds for the applicant on the application date."""
    if source is None:
        return list(info.existing_certifications)
    found = source.active_for(info.applicant.id_number, disease, info.application_date, case_id=info.case_id)
    return [*info.existing_certifications, *found]


def duplicate_status(
    info: CaseInfo, a: Assessment, catalog: Catalog, source: CertificationSource | None = None
) -> tuple[str, str]:
    """('duplicate' | 'renewal' | 'none', detail) for existing certifications of the same disease."""
    if a.disease is None:
        return "none", ""
    date = info.application_date
    window = catalog.parameters.renewal_window_months.value
    for cert in _held(info, a.disease.name, source):
        if catalog.disease(cert.disease) is not a.disease:
            continue
        if cert.valid_from and cert.valid_from > date:
            continue
        until = _valid_until(cert, catalog)
        if until is None or until >= date:
            if until is None or until > add_months(date, window):
                return "duplicate", f"已持有{a.disease.name}认定，有效期至{until or '长期'}，距到期超过{window}个月"
            return "renewal", f"已持有{a.disease.name}认定，有效期至{until}，处于到期前{window}个月复审期内"
    return "none", ""


def check_duplicate(
    info: CaseInfo, a: Assessment, catalog: Catalog, cite: Cite, source: CertificationSource | None = None
) -> Check:
    """6. No duplicate certification of the same disease (case.json and, when given, the registry)."""
    cites = cite(_rule(catalog, "duplicate"), CHECK_TOPICS["duplicate"])
    kind, detail = duplicate_status(info, a, catalog, source)
    if kind == "duplicate":
        return _check("duplicate", "fail", "DUPLICATE_CERTIFICATION", detail + "，属重复认定。", [], cites)
    if kind == "renewal":
        return _check("duplicate", "pass", None, detail + "，可申请复审续期。", [], cites)
    return _check("duplicate", "pass", None, "无同病种有效认定。", [], cites)


def province_differs(info: CaseInfo) -> bool:
    """Insured province (first two digits) differs from the hospital's."""
    return info.applicant.insurance.region_code[:2] != info.hospital.region_code[:2]


def check_cross_region(info: CaseInfo, catalog: Catalog, cite: Cite) -> Check:
    """7. Cross-province filing valid on the application date."""
    cites = cite(_rule(catalog, "cross_region"), CHECK_TOPICS["cross_region"])
    ins = info.applicant.insurance
    if ins.region_code == info.hospital.region_code:
        return _check("cross_region", "pass", None, "参保地与就医地相同。", [], cites)
    if not province_differs(info):
        return _check("cross_region", "pass", None, "省内异地就医，无需备案，仅标注异地。", [], cites)
    f = ins.cross_region_filing
    date = info.application_date
    if (
        f
        and f.filed
        and (f.valid_from is None or f.valid_from <= date)
        and (f.valid_until is None or date <= f.valid_until)
    ):
        return _check(
            "cross_region",
            "pass",
            None,
            f"跨省异地就医，已办理备案（有效期{f.valid_from or ''}至{f.valid_until or '长期'}）。",
            [],
            cites,
        )
    why = (
        "未办理异地就医备案" if not (f and f.filed) else f"备案在申请日不在有效期内（{f.valid_from}至{f.valid_until}）"
    )
    return _check("cross_region", "unknown", "FILING_REQUIRED", f"跨省异地就医，{why}，需补办备案。", [], cites)


def check_identity(an: CaseAnalysis, catalog: Catalog, cite: Cite) -> Check:
    """8. Every record names the applicant."""
    cites = cite(_rule(catalog, "identity"), CHECK_TOPICS["identity"])
    problems = [(doc, p) for doc, ident in an.identities.items() for p in ident.problems]
    if not problems:
        return _check("identity", "pass", None, "各份病历的姓名、身份证号与申请人一致。", [], cites)
    detail = "；".join(f"{doc.split('/')[-1]}：{p[0]}" for doc, p in problems[:4])
    spans = [s for _, p in problems for s in p[1]]
    return _check("identity", "unknown", "IDENTITY_MISMATCH", detail + "，该文书不作为认定依据，需核实。", spans, cites)


def decide(checks: list[Check]) -> tuple[Decision, list[str]]:
    """Any fail -> reject (every failing code); else any unknown -> need_info (every unknown
    code); else approve with the evidence code."""
    fails = [c.reason_code for c in checks if c.status == "fail" and c.reason_code]
    if fails:
        return "reject", list(dict.fromkeys(fails))
    unknown = [c.reason_code for c in checks if c.status == "unknown" and c.reason_code]
    if unknown:
        return "need_info", list(dict.fromkeys(unknown))
    ev = next((c.reason_code for c in checks if c.id == "diagnosis_evidence" and c.reason_code), "CRITERIA_MET")
    return "approve", [ev]
