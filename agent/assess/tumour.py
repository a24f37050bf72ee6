"""恶性肿瘤门诊治疗 (RULES.md §1): pathology or cytology, or a clinical diagnosis with imaging by a
hospital of the catalogue's level, and a plan. Which basis names the evidence follows ``basis_order``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from agent.assess.base import Assessment, Assessor, date_span, finish_dates, set_primary
from agent.core.catalog import TumourDisease, code_in
from agent.core.criteria import LEVEL_CN, TumourCriteria
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.document import KIND_LABEL, DocView
from agent.extract.lexicon import lexicon
from agent.extract.mentions import Mention, diagnosis_item
from agent.extract.restated import restated

_DIAGNOSIS_VERBS = re.compile(r"诊断|确诊|证实|病理示|病理提示|病理报告示|活检示|明确为|考虑为")


@dataclass
class Found:
    """What the scope step found and the evidence step reads."""

    mal: list[Mention]
    path_docs: list[DocView]
    results: dict[str, str]  # pathology/cytology report name -> what it concludes
    path_pos: list[DocView]
    cyto_pos: list[DocView]
    clinical: list[DocView]
    primary: Mention | None
    in_situ: list[Mention]


def _doc_result(an: CaseAnalysis, v: DocView) -> str:
    """What one pathology or cytology report concludes: positive, in_situ, uncertain, negative or none."""
    rel = [m for m in an.tumour if m.view is v and an.relevant(m)]
    if any(m.kind == "malignant" and m.certainty == "confirmed" for m in rel):
        return "positive"
    if any(m.kind == "in_situ" and m.certainty == "confirmed" for m in rel):
        return "in_situ"
    if any(m.kind == "malignant" and m.certainty == "uncertain" for m in rel):
        return "uncertain"
    if (
        any(
            (m.kind == "malignant" and m.certainty == "negated") or (m.kind == "benign" and m.certainty == "confirmed")
            for m in rel
        )
        or "未见恶性" in v.half
        or "未见癌" in v.half
    ):
        return "negative"
    return "none"


def _below_level(an: CaseAnalysis, v: DocView, crit: TumourCriteria) -> bool:
    """The record's institution states a level below the one a clinical diagnosis needs."""
    level = an.hospital_level(v)
    return level is not None and level < crit.min_hospital_level_clinical


def _clinical_docs(an: CaseAnalysis, mal: list[Mention], crit: TumourCriteria) -> list[DocView]:
    """Documents of the catalogue's clinical kinds that list a confirmed malignancy, with imaging
    in the case or in themselves, from a hospital of the required level."""

    def imaging(v: DocView) -> bool:
        return any(w in v.half for w in crit.imaging)

    imaging_in_case = any(v.kind == "imaging" and imaging(v) for v in an.own)
    return [
        v
        for v in an.own
        if v.kind in crit.clinical_documents
        # a diagnosis list that only recalls an old one (乙状结肠癌根治术后（2021年）) does not renew it
        and any(m.view is v and m.in_dx_section and m.certainty == "confirmed" and not _recalled(m) for m in mal)
        and (imaging_in_case or imaging(v))
        and not _below_level(an, v, crit)
    ]


def _settles(confirmed: list[Mention], suspected: list[Mention]) -> bool:
    """Whether the newest confirmed document is newer than every document holding a suspicion."""
    newest = max((m.view.date or dt.date.min for m in confirmed), default=dt.date.min)
    return all((m.view.date or dt.date.max) < newest for m in suspected)


def _recalled(m: Mention) -> bool:
    return restated(m).assertion.category == "historical"


def _pick(an: CaseAnalysis, cands: list[Mention]) -> Mention | None:
    """The primary diagnosis: a confirmed line in a clinical document's diagnosis list first."""
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


def _refine_subsite(code: str | None, views: list[DocView]) -> str | None:
    """An unspecified tumour code (C50.9, C34.9) made specific when the pathology names one
    subsite of that organ (外下象限 -> C50.5); several subsites leave it unspecified."""
    if not code or not (code.endswith(".9") or len(code) == 3):
        return code
    cat = code[:3]
    found = set()
    for v in views:
        body = "".join(v.half[s.start : s.end] for s in v.sections if s.name not in ("clinical_dx", "family", "past"))
        for keys, sub_code in lexicon().sites:
            specific = sub_code.startswith(cat) and sub_code != code and not sub_code.endswith(".9")
            # 乳头 is a landmark in gross descriptions (距乳头3cm), not a subsite
            if specific and "乳头" not in keys and all(k in body for k in keys):
                found.add(sub_code)
    return found.pop() if len(found) == 1 else code


def _states_diagnosis(m: Mention) -> bool:
    """Whether the sentence holding ``m`` states a diagnosis."""
    s, e = m.view.clause_bounds(m.start, m.end, commas=True, enumeration=False)
    return bool(_DIAGNOSIS_VERBS.search(m.view.half[s:e]))


def _documents(crit: TumourCriteria, sep: str) -> str:
    """The clinical document kinds as the messages name them: ``诊断证明/出院小结``."""
    return sep.join("诊断证明" if k == "certificate" else KIND_LABEL[k] for k in crit.clinical_documents)


def _codes(patterns: list[str]) -> str:
    """Code ranges as a message writes them: ``C00–C97``."""
    return "、".join(patterns).replace("-", "–")


# ---------------------------------------------------------------- scope (check 3)
def _scope_malignant(a: Assessment, an: CaseAnalysis, d: TumourDisease, f: Found) -> None:
    """Scope from the primary malignant diagnosis, else from an in-situ one (a parameter)."""
    patterns = d.icd10.qualifying + d.icd10.in_situ + ["D10-D48"]
    if f.primary is not None:
        set_primary(a, f.primary, tumour=True, patterns=patterns)
        if not a.icd_from_record:  # a code the record writes is kept as written
            a.icd10 = _refine_subsite(a.icd10, f.path_docs)
        if a.icd10 and not code_in(a.icd10, d.icd10.qualifying):
            a.scope, a.scope_detail = "not_covered", f"诊断编码{a.icd10}不属于恶性肿瘤（{_codes(d.icd10.qualifying)}）"
        else:
            a.scope = "pass"
    elif f.in_situ and not f.path_pos:
        set_primary(a, _pick(an, f.in_situ) or f.in_situ[0], tumour=True, patterns=patterns)
        if an.catalog.parameters.include_in_situ.value:
            a.scope = "pass"
        else:
            a.scope, a.scope_detail = (
                "not_covered",
                f"诊断为原位癌/上皮内瘤变（{a.icd10 or _codes(d.icd10.in_situ)}），不属于恶性肿瘤门特范围",
            )


def _scope_negative_pathology(a: Assessment, an: CaseAnalysis, f: Found) -> None:
    """Pathology that says not malignant (and none that says malignant): not covered."""
    negative_path = [v for v in f.path_docs if f.results[v.name] == "negative"]
    if f.path_pos or f.cyto_pos or not negative_path or a.scope == "not_covered":
        return
    # the benign diagnosis as a clinical document lists it, else as the pathology states it
    benign = [
        m
        for m in an.tumour
        if m.kind == "benign" and m.certainty == "confirmed" and m.in_dx_section and m.view.kind in CLINICAL_KINDS
    ]
    benign += [m for m in an.tumour if m.view in negative_path and an.relevant(m) and m.kind == "benign"]
    if benign:
        set_primary(a, benign[0], tumour=True, patterns=["A00-Z99"])
    elif a.primary_name is None:
        a.primary_spans = [negative_path[0].line_span(0)]
    a.scope = "not_covered"
    a.scope_detail = "病理报告未见恶性（良性或阴性），不属于恶性肿瘤"
    a.basis = "pathology"
    best = an.newest(negative_path)
    if best is not None:
        a.basis_date, a.basis_spans = best.date, date_span(best)


def _scope_benign(a: Assessment, an: CaseAnalysis) -> None:
    """A benign tumour diagnosed without pathology (脑膜瘤 on MRI): not covered, basis clinical."""
    benign_dx = [
        m
        for m in an.tumour
        if m.kind == "benign"
        and m.certainty == "confirmed"
        and m.in_dx_section
        and m.view.kind in (*CLINICAL_KINDS, "pathology", "imaging")
    ]
    if a.scope != "no_diagnosis" or not benign_dx:
        return
    first = min(benign_dx, key=lambda m: (0 if m.view.kind in CLINICAL_KINDS else 1, an.dx_rank(m)))
    set_primary(a, first, tumour=True, patterns=["A00-Z99"])
    a.scope, a.scope_detail = "not_covered", f"诊断为良性或交界性肿瘤（{a.icd10 or '非C编码'}），不属于恶性肿瘤"
    a.basis = "pathology" if first.view.kind == "pathology" else "clinical"
    same = [m.view for m in benign_dx if (m.view.kind == "pathology") == (a.basis == "pathology")]
    best = an.newest(same)
    if best is not None:
        a.basis_date, a.basis_spans = best.date, date_span(best)


# ---------------------------------------------------------------- evidence (check 4)
def _basis_of_uncovered(a: Assessment, an: CaseAnalysis, d: TumourDisease, f: Found) -> None:
    """The basis of an uncovered diagnosis: the first kind in ``basis_order`` of the documents
    stating it as confirmed."""
    pv = f.primary.view if f.primary else None
    if f.in_situ and not f.primary:
        pv = (_pick(an, f.in_situ) or f.in_situ[0]).view
    if pv is None:
        return
    stating = [
        m.view
        for m in an.tumour
        if m.certainty == "confirmed"
        and m.kind in ("in_situ", "malignant", "benign")
        and (an.relevant(m) or m.in_dx_section)
    ]
    by_basis = {
        "pathology": [v for v in stating if v.kind == "pathology"],
        "cytology": [v for v in stating if v.kind == "cytology"],
        "clinical": [v for v in stating if v.kind in CLINICAL_KINDS],
    }
    basis = next((b for b in d.evidence.basis_order if by_basis[b]), "clinical")
    best = an.newest(by_basis[basis] or [pv])
    a.basis = basis
    a.basis_date, a.basis_spans = (best.date, date_span(best)) if best else (None, [])


def _not_met(a: Assessment, d: TumourDisease, f: Found) -> None:
    """No qualifying document: a stated diagnosis lacks its basis, a suspected one is unconfirmed."""
    # an unhedged statement OF the diagnosis (a diagnosis list, or 确诊/诊断/病理示 …), not a
    # word in a discussion (不能区分HCC与胆管细胞癌)
    confirmed_any = [m for m in f.mal if m.certainty == "confirmed" and (m.in_dx_section or _states_diagnosis(m))]
    uncertain = [m for m in f.mal if m.certainty == "uncertain"]
    level = LEVEL_CN[d.evidence.min_hospital_level_clinical]
    if confirmed_any:
        a.status, a.detail = (
            "missing",
            f"恶性肿瘤诊断无病理、细胞学报告或附影像依据的{level}及以上医院{_documents(d.evidence, '/')}支持",
        )
        a.evidence_spans = [confirmed_any[0].view.span(confirmed_any[0].start, confirmed_any[0].end)]
        docs = _documents(d.evidence, "、")
        a.missing.append(f"缺少病理或细胞学报告（或{level}及以上医院附CT/MRI/PET-CT依据的{docs}）")
    elif uncertain:
        a.status, a.detail = "unconfirmed", "恶性肿瘤仅为疑似诊断（考虑/疑似/待排等），尚未确诊"
        a.evidence_spans = [m.view.span(*m.view.clause_bounds(m.start, m.end, commas=True)) for m in uncertain[:2]]
        a.missing.append("缺少确诊依据：病理或细胞学报告")
    else:
        a.status = "missing"
        a.missing.append("缺少病理或细胞学报告")


class TumourAssessor(Assessor[TumourDisease, Found]):
    """恶性肿瘤门诊治疗 on the shared skeleton."""

    plan_missing = "缺少抗肿瘤治疗方案或治疗记录（放疗、化疗、靶向、内分泌或免疫治疗）"

    def scope(self, a: Assessment, an: CaseAnalysis, d: TumourDisease) -> Found:
        """Malignant, in-situ, benign or no diagnosis, from the tumour mentions and the reports."""
        mal = [m for m in an.tumour if m.kind == "malignant"]
        positive = [m for m in mal if m.certainty != "negated"]
        in_situ = [m for m in an.tumour if m.kind == "in_situ" and m.certainty == "confirmed"]
        if in_situ and not any(m.certainty == "confirmed" for m in positive) and _settles(in_situ, positive):
            # a confirmed in-situ diagnosis settles an EARLIER suspicion of malignancy (不除外恶性 on the
            # mammogram, then 导管原位癌); a suspicion raised after it (再次活检) still stands
            positive = []
        path_docs = [v for v in an.own if v.kind in ("pathology", "cytology")]
        results = {v.name: _doc_result(an, v) for v in path_docs}
        pos = [v for v in path_docs if results[v.name] == "positive"]
        f = Found(
            mal=mal,
            path_docs=path_docs,
            results=results,
            path_pos=[v for v in pos if v.kind == "pathology"],
            cyto_pos=[v for v in pos if v.kind == "cytology"],
            clinical=_clinical_docs(an, mal, d.evidence),
            primary=_pick(an, [m for m in positive if m.in_dx_section or an.relevant(m)]) or _pick(an, positive),
            in_situ=in_situ,
        )
        _scope_malignant(a, an, d, f)
        _scope_negative_pathology(a, an, f)
        _scope_benign(a, an)
        if a.scope == "no_diagnosis":
            a.scope_detail = "病历中未找到恶性肿瘤诊断名称或编码"
            a.missing.append("提供载明恶性肿瘤诊断的出院小结、诊断证明或病理报告")
        return f

    def evidence(self, a: Assessment, an: CaseAnalysis, d: TumourDisease, f: Found) -> None:
        """Met by the first basis of ``basis_order`` that has documents; else missing or unconfirmed."""
        by_basis = {"pathology": f.path_pos, "cytology": f.cyto_pos, "clinical": f.clinical}
        if a.scope == "not_covered":
            a.status = "missing"
            if a.basis == "none" and a.primary_spans:
                _basis_of_uncovered(a, an, d, f)
        elif f.path_pos or f.cyto_pos or f.clinical:
            a.status = "met"
            a.basis = next(b for b in d.evidence.basis_order if by_basis[b])
            basis_docs = by_basis[a.basis]
            a.evidence_spans = [
                m.view.span(*diagnosis_item(m.view, m.start))
                for m in f.mal
                if m.view in basis_docs and m.certainty == "confirmed" and an.relevant(m)
            ][:1]
            finish_dates(a, an, f.path_pos + f.cyto_pos + f.clinical, basis_docs)
        else:
            _not_met(a, d, f)


assess_tumour = TumourAssessor()
