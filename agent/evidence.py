"""Certification evidence (认定标准, RULES.md §1) for one disease: is the diagnosis there, in
scope, proven by documents of the named kind, recent enough, and is there a treatment plan?
Draft and checks both read this one assessment."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from agent.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.catalog import Disease, code_in
from agent.extract.dates import add_months
from agent.extract.document import DX_SECTIONS, DocView
from agent.extract.lexicon import tumour_code_named
from agent.extract.mentions import Mention, clean_name, diagnosis_item, name_code
from agent.icd10 import find_codes
from agent.models import Span

Status = Literal["met", "missing", "unconfirmed", "expired"]
Scope = Literal["pass", "not_covered", "no_diagnosis"]


@dataclass
class Assessment:
    """What the records show for one disease."""

    disease: Disease | None
    scope: Scope = "no_diagnosis"
    scope_detail: str = ""
    status: Status = "missing"
    detail: str = ""
    basis: str = "none"
    basis_date: dt.date | None = None
    basis_spans: list[Span] = field(default_factory=list)
    evidence_spans: list[Span] = field(default_factory=list)
    primary_name: str | None = None
    primary_spans: list[Span] = field(default_factory=list)
    icd10: str | None = None
    icd_spans: list[Span] = field(default_factory=list)
    icd_from_record: bool = False  # written in the record, not derived from the name
    plan: bool = True
    plan_spans: list[Span] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    modality_spans: list[Span] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    confidence: float = 0.9
    rank: int = 100

    @property
    def evidence_code(self) -> str:
        """The approve reason code this evidence carries."""
        if self.disease is not None and self.disease.kind == "tumour":
            return {"pathology": "PATHOLOGY_CONFIRMED", "cytology": "CYTOLOGY_CONFIRMED"}.get(
                self.basis, "CLINICAL_DIAGNOSIS"
            )
        return "CRITERIA_MET"


def _date_span(v: DocView) -> list[Span]:
    s = v.date_span()
    return [s] if s else []


def _set_primary(a: Assessment, m: Mention, *, tumour: bool, patterns: list[str]) -> None:
    """Name and code of the primary diagnosis from its diagnosis item."""
    s, e = diagnosis_item(m.view, m.start)
    if not (s <= m.start < e):
        s, e = m.start, m.end
    # an item of several comma clauses (右肺上叶占位，考虑肺癌可能): keep the clause naming the disease
    item_s, item_e = s, e
    # several diagnoses or clauses on one line: keep the segment naming this disease
    s, e = segment(m.view.text, s, e, m.start)
    label = re.match(r"^[^：:，,]{1,10}[：:]\s*", m.view.text[s:e])  # 诊断：慢性肾脏病5期
    if label and s + label.end() <= m.start:
        s += label.end()
    pathology = m.view.kind in ("pathology", "cytology")
    a.primary_name = clean_name(m.view.text[s:e], tumour=tumour, pathology=pathology) or m.text
    a.primary_spans = [m.view.span(s, e)]
    line_codes = [c for c in find_codes(m.view.text[item_s:item_e]) if code_in(c.who, patterns)]
    if line_codes:
        c = line_codes[0]
        a.icd10, a.icd_spans = c.who, [m.view.span(item_s + c.start, item_s + c.end)]
        a.icd_from_record = True
    else:
        a.icd10 = (
            (tumour and tumour_code_named(a.primary_name))
            or name_code(a.primary_name, m.kind)
            or name_code(m.view.text[s:e], m.kind)
        )
        a.icd_spans = [m.view.span(s, e)] if a.icd10 else []
        a.confidence = min(a.confidence, 0.8)
    a.rank = 0 if m.view.kind in CLINICAL_KINDS and m.in_dx_section else 1


_SEP = re.compile(r"[，,；;]|\u3000+| {2,}|\t")


def _cjk_gap(text: str, i: int, s: int, e: int) -> bool:
    """A single space between two Chinese words (PDF text turns wide spaces into one space)."""
    return text[i] == " " and s < i < e - 1 and _is_han(text[i - 1]) and _is_han(text[i + 1])


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch in "）)"


def segment(text: str, s: int, e: int, pos: int) -> tuple[int, int]:
    """The part of text[s:e] holding ``pos`` between separators (comma, semicolon, wide space)
    that stand outside parentheses: ``糖尿病肾病　慢性肾脏病5期（维持性血液透析）`` -> the second."""
    depth, cuts = 0, [s]
    for i in range(s, e):
        ch = text[i]
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        elif (
            depth == 0 and (i == s or not _SEP.match(text, i - 1)) and (_SEP.match(text, i) or _cjk_gap(text, i, s, e))
        ):
            cuts.append(i)
    cuts.append(e)
    for a, b in itertools.pairwise(cuts):
        if a <= pos < b:
            a2 = a
            while a2 < b and (_SEP.match(text, a2) or text[a2] in " "):
                a2 += 1
            return a2, b
    return s, e


def _refine_subsite(code: str | None, views: list[DocView]) -> str | None:
    """An unspecified tumour code (C50.9, C34.9) made specific when the pathology names one
    subsite of that organ (外下象限 -> C50.5); several subsites leave it unspecified."""
    from agent.extract.lexicon import lexicon

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


_DIAGNOSIS_VERBS = re.compile(r"诊断|确诊|证实|病理示|病理提示|病理报告示|活检示|明确为|考虑为")


def _states_diagnosis(m: Mention) -> bool:
    """Whether the sentence holding ``m`` states a diagnosis."""
    s, e = m.view.clause_bounds(m.start, m.end, commas=True, enumeration=False)
    return bool(_DIAGNOSIS_VERBS.search(m.view.half[s:e]))


def _window_start(an: CaseAnalysis) -> dt.date:
    return add_months(an.app_date, -int(an.catalog.param("evidence_max_age_months", 24)))


def _finish_dates(a: Assessment, an: CaseAnalysis, qualifying: list[DocView], date_docs: list[DocView]) -> None:
    """Basis date from ``date_docs`` (newest), and EVIDENCE_EXPIRED when every qualifying
    document is older than the evidence window."""
    best = an.newest(date_docs or qualifying)
    if best is not None:
        a.basis_date = best.date
        a.basis_spans = _date_span(best)
    newest_q = an.newest(qualifying)
    if a.status == "met" and newest_q is not None and newest_q.date and newest_q.date < _window_start(an):
        a.status = "expired"
        a.detail = f"最新认定材料日期为{newest_q.date.isoformat()}，距申请日已超过2年"
        a.missing.append("提供近2年内的认定材料（检查、检验或诊疗记录）")


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


# ---------------------------------------------------------------- shared for the four other diseases
def _scope_from_mentions(a: Assessment, an: CaseAnalysis, d: Disease, family: list[str]) -> list[Mention]:
    """Primary diagnosis and check-3 scope for a non-tumour disease; returns its mentions."""
    qualifying = [m for m in an.disease_mentions_in(d.icd10.qualifying + d.icd10.also) if m.certainty != "negated"]
    if d.icd10.with_kidney_failure and an.disease_mentions_in(["N17-N19"]):
        qualifying += an.disease_mentions_in(d.icd10.with_kidney_failure)
    in_dx = [m for m in qualifying if m.in_dx_section or m.section == "clinical_dx"]
    cands = in_dx or qualifying
    primary = min(
        cands,
        key=lambda m: (
            0 if m.certainty == "confirmed" else 1,
            # a prescription's 临床诊断 states the current diagnosis as well as a clinic note does
            0 if m.view.kind in (*CLINICAL_KINDS, "prescription") else 1,
            -(m.view.date or dt.date.min).toordinal(),
            an.dx_rank(m),
        ),
        default=None,
    )
    if primary is not None:
        _set_primary(a, primary, tumour=False, patterns=d.icd10.qualifying + d.icd10.also + d.icd10.with_kidney_failure)
        if a.icd10 is None or not code_in(a.icd10, d.icd10.qualifying + d.icd10.also + d.icd10.with_kidney_failure):
            a.icd10 = primary.code
        a.rank = an.dx_rank(primary) + (0 if primary.view.kind in CLINICAL_KINDS else 50)
        a.scope = "pass"
        return qualifying
    related = [m for m in an.disease_mentions_in(family) if m.certainty != "negated"]
    if related:
        m = related[0]
        _set_primary(a, m, tumour=False, patterns=family)
        a.scope, a.scope_detail = "not_covered", f"诊断“{a.primary_name}”（{a.icd10}）不在{d.name}的编码范围内"
    else:
        a.scope_detail = f"病历中未找到{d.name}相关诊断名称或编码"
        a.missing.append(f"提供载明{d.name.split('（')[0]}诊断的出院小结、诊断证明或门诊病历")
    return []


def _unconfirmed(a: Assessment, mentions: list[Mention]) -> bool:
    if mentions and not any(m.certainty == "confirmed" for m in mentions):
        a.status, a.detail = "unconfirmed", "主要诊断仅为疑似，尚未确诊"
        a.missing.append("提供确诊该病的诊断证明或检查报告")
        return True
    return False


def assess(an: CaseAnalysis, d: Disease) -> Assessment:
    """The assessment of ``d`` in this case."""
    from agent.evidence_chronic import assess_diabetes, assess_dialysis, assess_hypertension, assess_transplant

    fn = {
        "tumour": assess_tumour,
        "dialysis": assess_dialysis,
        "transplant": assess_transplant,
        "hypertension": assess_hypertension,
        "diabetes": assess_diabetes,
    }[d.kind]
    return fn(an, d)


def assess_uncovered(an: CaseAnalysis, requested: str | None) -> Assessment:
    """A disease outside the catalogue: name what the records diagnose, with its basis."""
    a = Assessment(
        disease=None,
        scope="not_covered",
        scope_detail=f"申请病种“{requested}”不在门诊特定病种目录内" if requested else "病历诊断不在门特病种目录内",
    )
    views = sorted(
        [v for v in an.own if v.kind in (*CLINICAL_KINDS, "pathology")],
        key=lambda v: v.date or dt.date.min,
        reverse=True,
    )
    for v in views:
        for sec in v.sections:
            if sec.name not in DX_SECTIONS:
                continue
            body = v.text[sec.start : sec.end]
            first = next((i for i, ch in enumerate(body) if not ch.isspace()), None)
            if first is None:
                continue
            s, e = diagnosis_item(v, sec.start + first)
            name = clean_name(v.text[s:e], tumour=False)
            if not name:
                continue
            a.primary_name, a.primary_spans = name, [v.span(s, e)]
            codes = find_codes(v.text[s:e])
            if codes:
                a.icd10, a.icd_spans = codes[0].who, [v.span(s + codes[0].start, s + codes[0].end)]
            a.basis = "pathology" if v.kind == "pathology" else "clinical"
            same = [w for w in views if (w.kind == "pathology") == (v.kind == "pathology") and name in w.text]
            best = an.newest(same or [v])
            if best is not None:
                a.basis_date, a.basis_spans = best.date, _date_span(best)
            return a
    return a
