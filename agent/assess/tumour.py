"""恶性肿瘤门诊治疗 (RULES.md §1): pathology or cytology, or a clinical diagnosis with imaging, and a plan."""

from __future__ import annotations

import datetime as dt

from agent.assess.base import (
    Assessment,
    _date_span,
    _finish_dates,
    _refine_subsite,
    _set_primary,
    _states_diagnosis,
)
from agent.core.catalog import Disease, code_in
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.document import DocView
from agent.extract.mentions import Mention, diagnosis_item


# ---------------------------------------------------------------- tumour
def assess_tumour(an: CaseAnalysis, d: Disease) -> Assessment:
    """恶性肿瘤门诊治疗: pathology/cytology, or a clinical diagnosis with imaging; and a plan."""
    a = Assessment(disease=d)
    patterns = d.icd10.qualifying + d.icd10.in_situ + ["D10-D48"]
    include_in_situ = bool(an.catalog.param("include_in_situ", False))
    mal = [m for m in an.tumour if m.kind == "malignant"]
    positive = [m for m in mal if m.certainty != "negated"]
    path_docs = [v for v in an.own if v.kind in ("pathology", "cytology")]

    def doc_result(v: DocView) -> str:
        rel = [m for m in an.tumour if m.view is v and an.relevant(m)]
        if any(m.kind == "malignant" and m.certainty == "confirmed" for m in rel):
            return "positive"
        if any(m.kind == "in_situ" and m.certainty == "confirmed" for m in rel):
            return "in_situ"
        if any(m.kind == "malignant" and m.certainty == "uncertain" for m in rel):
            return "uncertain"
        if (
            any(
                (m.kind == "malignant" and m.certainty == "negated")
                or (m.kind == "benign" and m.certainty == "confirmed")
                for m in rel
            )
            or "未见恶性" in v.half
            or "未见癌" in v.half
        ):
            return "negative"
        return "none"

    results = {v.name: doc_result(v) for v in path_docs}
    path_pos = [v for v in path_docs if v.kind == "pathology" and results[v.name] == "positive"]
    cyto_pos = [v for v in path_docs if v.kind == "cytology" and results[v.name] == "positive"]
    imaging_in_case = any(
        v.kind == "imaging" and any(w in v.half for w in ("CT", "MRI", "磁共振", "PET")) for v in an.own
    )
    clinical = [
        v
        for v in an.own
        if v.kind in ("discharge", "certificate")
        and any(m.view is v and m.in_dx_section and m.certainty == "confirmed" for m in mal)
        and (imaging_in_case or any(w in v.half for w in ("CT", "MRI", "磁共振", "PET")))
        and not an.low_level_hospital(v)
    ]

    # primary diagnosis: a confirmed line in a clinical document's diagnosis list first
    def pick(cands: list[Mention]) -> Mention | None:
        return min(
            cands,
            key=lambda m: (
                0
                if m.view.kind in CLINICAL_KINDS and m.in_dx_section
                else 1
                if m.view.kind in ("pathology", "cytology") and an.relevant(m)
                else 2,
                0 if m.certainty == "confirmed" else 1,
                -(m.view.date or dt.date.min).toordinal(),
                an.dx_rank(m),
            ),
            default=None,
        )

    primary = pick([m for m in positive if m.in_dx_section or an.relevant(m)]) or pick(positive)
    in_situ = [m for m in an.tumour if m.kind == "in_situ" and m.certainty == "confirmed"]
    negative_path = [v for v in path_docs if results[v.name] == "negative"]
    if primary is not None:
        _set_primary(a, primary, tumour=True, patterns=patterns)
        if not a.icd_from_record:  # a code the record writes is kept as written
            a.icd10 = _refine_subsite(a.icd10, path_docs)
        if a.icd10 and not code_in(a.icd10, d.icd10.qualifying):
            a.scope, a.scope_detail = "not_covered", f"诊断编码{a.icd10}不属于恶性肿瘤（C00–C97）"
        else:
            a.scope = "pass"
    elif in_situ and not path_pos:
        _set_primary(a, pick(in_situ) or in_situ[0], tumour=True, patterns=patterns)
        if include_in_situ:
            a.scope = "pass"
        else:
            a.scope, a.scope_detail = (
                "not_covered",
                f"诊断为原位癌/上皮内瘤变（{a.icd10 or 'D00–D09'}），不属于恶性肿瘤门特范围",
            )
    if not path_pos and not cyto_pos and negative_path and a.scope != "not_covered":
        # the benign diagnosis as a clinical document lists it, else as the pathology states it
        benign = [
            m
            for m in an.tumour
            if m.kind == "benign" and m.certainty == "confirmed" and m.in_dx_section and m.view.kind in CLINICAL_KINDS
        ]
        benign += [m for m in an.tumour if m.view in negative_path and an.relevant(m) and m.kind == "benign"]
        if benign:
            _set_primary(a, benign[0], tumour=True, patterns=["A00-Z99"])
        elif a.primary_name is None:
            a.primary_spans = [negative_path[0].line_span(0)]
        a.scope = "not_covered"
        a.scope_detail = "病理报告未见恶性（良性或阴性），不属于恶性肿瘤"
        a.basis = "pathology"
        best = an.newest(negative_path)
        if best is not None:
            a.basis_date, a.basis_spans = best.date, _date_span(best)
    benign_dx = [
        m
        for m in an.tumour
        if m.kind == "benign"
        and m.certainty == "confirmed"
        and m.in_dx_section
        and m.view.kind in (*CLINICAL_KINDS, "pathology", "imaging")
    ]
    if a.scope == "no_diagnosis" and benign_dx:
        # a benign tumour diagnosed without pathology (脑膜瘤 on MRI): not covered, basis clinical
        first = min(benign_dx, key=lambda m: (0 if m.view.kind in CLINICAL_KINDS else 1, an.dx_rank(m)))
        _set_primary(a, first, tumour=True, patterns=["A00-Z99"])
        a.scope, a.scope_detail = "not_covered", f"诊断为良性或交界性肿瘤（{a.icd10 or '非C编码'}），不属于恶性肿瘤"
        a.basis = "pathology" if first.view.kind == "pathology" else "clinical"
        same = [m.view for m in benign_dx if (m.view.kind == "pathology") == (a.basis == "pathology")]
        best = an.newest(same)
        if best is not None:
            a.basis_date, a.basis_spans = best.date, _date_span(best)
    if a.scope == "no_diagnosis":
        a.scope_detail = "病历中未找到恶性肿瘤诊断名称或编码"
        a.missing.append("提供载明恶性肿瘤诊断的出院小结、诊断证明或病理报告")

    # evidence
    if a.scope == "not_covered":
        a.status = "missing"
        if a.basis == "none" and a.primary_spans:
            pv = primary.view if primary else None
            if in_situ and not primary:
                pv = (pick(in_situ) or in_situ[0]).view
            if pv is not None:
                # the strongest kind of document that states the (uncovered) diagnosis as confirmed
                stating = [
                    m.view
                    for m in an.tumour
                    if m.certainty == "confirmed"
                    and m.kind in ("in_situ", "malignant", "benign")
                    and (an.relevant(m) or m.in_dx_section)
                ]
                for kind, basis in (("pathology", "pathology"), ("cytology", "cytology")):
                    docs = [v for v in stating if v.kind == kind]
                    if docs:
                        a.basis, best = basis, an.newest(docs)
                        break
                else:
                    a.basis, best = "clinical", an.newest([v for v in stating if v.kind in CLINICAL_KINDS] or [pv])
                a.basis_date, a.basis_spans = (best.date, _date_span(best)) if best else (None, [])
    elif path_pos or cyto_pos or clinical:
        a.status = "met"
        a.basis = "pathology" if path_pos else "cytology" if cyto_pos else "clinical"
        basis_docs = path_pos or cyto_pos or clinical
        a.evidence_spans = [
            m.view.span(*diagnosis_item(m.view, m.start))
            for m in mal
            if m.view in basis_docs and m.certainty == "confirmed" and an.relevant(m)
        ][:1]
        _finish_dates(a, an, path_pos + cyto_pos + clinical, basis_docs)
    else:
        # an unhedged statement OF the diagnosis (a diagnosis list, or 确诊/诊断/病理示 …), not a
        # word in a discussion (不能区分HCC与胆管细胞癌)
        confirmed_any = [m for m in mal if m.certainty == "confirmed" and (m.in_dx_section or _states_diagnosis(m))]
        uncertain = [m for m in mal if m.certainty == "uncertain"]
        if confirmed_any:
            a.status, a.detail = (
                "missing",
                "恶性肿瘤诊断无病理、细胞学报告或附影像依据的二级及以上医院诊断证明/出院小结支持",
            )
            a.evidence_spans = [confirmed_any[0].view.span(confirmed_any[0].start, confirmed_any[0].end)]
            a.missing.append("缺少病理或细胞学报告（或二级及以上医院附CT/MRI/PET-CT依据的诊断证明、出院小结）")
        elif uncertain:
            a.status, a.detail = "unconfirmed", "恶性肿瘤仅为疑似诊断（考虑/疑似/待排等），尚未确诊"
            a.evidence_spans = [m.view.span(*m.view.clause_bounds(m.start, m.end, commas=True)) for m in uncertain[:2]]
            a.missing.append("缺少确诊依据：病理或细胞学报告")
        else:
            a.status = "missing"
            a.missing.append("缺少病理或细胞学报告")
    mods, spans = an.modalities(d.treatment.modalities)
    a.modalities, a.modality_spans = mods, spans
    a.plan = bool(mods)
    a.plan_spans = spans
    if d.treatment.required and not a.plan:
        a.missing.append("缺少抗肿瘤治疗方案或治疗记录（放疗、化疗、靶向、内分泌或免疫治疗）")
    return a
