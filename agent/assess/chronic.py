"""Evidence rules of the four non-tumour diseases (RULES.md §1): dialysis, transplant,
hypertension with complications, diabetes with complications."""

from __future__ import annotations

import re

from agent.assess.base import Assessment, _date_span, _finish_dates, _scope_from_mentions, _unconfirmed, _window_start
from agent.core.catalog import Disease
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.document import HISTORY_SECTIONS, DocView
from agent.extract.mentions import Mention

_DIALYSIS_WORDS = re.compile(
    r"维持性(血液|腹膜)?透析|规律(血液|腹膜)?透析|规律血透|规律腹透|(?<![A-Za-z])(MHD|CAPD|APD)(?![A-Za-z])|"
    r"血液透析|腹膜透析|血透|腹透"
)
_TRANSPLANT = re.compile(r"(肾|肝|心脏|心|肺|胰腺|胰肾|小肠|角膜|骨髓|造血干细胞)?(?:脏)?移植(术|手术)?")
_HTN_GRADE = re.compile(r"高血压(病)?\s*[(（]?\s*(2|3|二|三|Ⅱ|Ⅲ|II|III)\s*级")


_PLANNED = re.compile(
    r"拟|计划|建议|准备|择期|待.{0,8}(成熟|后)|后开始|将于|预计|暂未|尚未|未开始|暂不|拒绝|如出现|必要时|"
    r"随时|紧急|临时|选择|考虑|需要?|指征|告知|咨询"
)
_ONGOING = re.compile(r"维持|规律|每周\s*\d|每周[一二三]次|继续|透析龄|已行|目前|现行|至今|长期|MHD|CAPD|APD|第\d+次")


def _sentence(v: DocView, start: int, end: int) -> str:
    """The sentence around [start, end), line breaks removed."""
    s, e = v.sentence_bounds(start, end)
    return v.half[s:e].replace("\n", "")


def _ongoing_dialysis(sentence: str) -> bool:
    """A sentence that records dialysis being done, not one that plans, offers or conditions it."""
    return bool(_ONGOING.search(sentence)) and not _PLANNED.search(sentence)


def _views_of(ms: list[Mention]) -> list[DocView]:
    seen: list[DocView] = []
    for m in ms:
        if m.view not in seen:
            seen.append(m.view)
    return seen


def assess_dialysis(an: CaseAnalysis, d: Disease) -> Assessment:
    """尿毒症透析: eGFR ≤ 15 or Scr ≥ 707 in ≥ 2 reports of different dates, or dialysis records."""
    a = Assessment(disease=d)
    mentions = _scope_from_mentions(a, an, d, ["N17-N19", "Z49", "Z99.2"])
    ev = d.evidence.model_dump()
    egfr_max, scr_min, min_reports = ev.get("egfr_max", 15), ev.get("scr_min_umol_l", 707), ev.get("min_reports", 2)
    lab_docs: list[DocView] = []
    spans = []
    for x in an.labs:
        # "reports" are laboratory reports; a note restating their values is not another report
        if x.section in HISTORY_SECTIONS or x.view.kind != "lab":
            continue
        qualifies = (x.kind == "egfr" and x.value <= egfr_max) or (x.kind == "scr" and x.value >= scr_min)
        if qualifies and x.view not in lab_docs:
            lab_docs.append(x.view)
            spans.append(x.view.span(x.start, x.end))
    dialysis_docs = [v for v in an.own if v.kind == "dialysis"]
    for v in an.own:
        if v.kind in CLINICAL_KINDS and v not in dialysis_docs:
            for m in _DIALYSIS_WORDS.finditer(v.half):
                sec = v.section_at(m.start()).name
                sentence = _sentence(v, m.start(), m.end())
                if sec not in HISTORY_SECTIONS and not v.in_injection(m.start()) and _ongoing_dialysis(sentence):
                    dialysis_docs.append(v)
                    spans.append(v.span(m.start(), m.end()))
                    break
    for v in dialysis_docs[:2]:
        if v.kind == "dialysis":
            spans.append(v.line_span(0))
    lab_dates = {v.date for v in lab_docs if v.date}
    mods, mspans = an.modalities(d.treatment.modalities)
    a.modalities, a.modality_spans = mods, mspans
    if _unconfirmed(a, mentions):
        return a
    if dialysis_docs or len(lab_dates) >= min_reports:
        a.status, a.basis = "met", "clinical"
        a.evidence_spans = spans[:4]
        qualifying = dialysis_docs + (lab_docs if len(lab_dates) >= min_reports else [])
        _finish_dates(a, an, qualifying + lab_docs, qualifying + lab_docs)
    else:
        a.status = "missing"
        a.evidence_spans = spans[:2]
        n = len(lab_dates)
        a.detail = (
            f"仅{n}份不同日期的检验报告达到eGFR≤{egfr_max}或血肌酐≥{scr_min}μmol/L，且无维持性透析记录"
            if n
            else f"无eGFR≤{egfr_max}或血肌酐≥{scr_min}μmol/L的检验报告，也无维持性透析记录"
        )
        a.missing.append(f"提供至少{min_reports}份不同日期达标的肾功能检验报告，或维持性透析治疗记录")
    return a


def assess_transplant(an: CaseAnalysis, d: Disease) -> Assessment:
    """器官移植术后抗排异治疗: a transplant record and ≥ 2 anti-rejection prescriptions in 2 years."""
    a = Assessment(disease=d)
    mentions = _scope_from_mentions(a, an, d, ["Z94", "T86"])
    ev = d.evidence.model_dump()
    min_rx = int(ev.get("min_prescriptions", 2))
    records = []
    for v in an.own:
        if v.kind not in ("operation", "discharge", "certificate"):
            continue
        for m in _TRANSPLANT.finditer(v.half):
            if (
                v.section_at(m.start()).name != "family"
                and not v.in_injection(m.start())
                and (m.group(1) or m.group(2))
            ):
                records.append((v, v.span(m.start(), m.end())))
                break
    start = _window_start(an)
    rx_docs: list[DocView] = []
    rx_spans = []
    for t in an.treatments:
        v = t.view
        if "anti_rejection" not in t.modalities or v.kind in ("lab", "imaging", "pathology"):
            continue
        if v.kind != "prescription" and t.section not in ("plan", "header", "dx", "course", "other"):
            continue
        if v.date and start <= v.date <= an.app_date and v not in rx_docs:
            rx_docs.append(v)
            rx_spans.append(v.span(t.start, t.end))
    dates = {v.date for v in rx_docs}
    mods, mspans = an.modalities(d.treatment.modalities)
    a.modalities, a.modality_spans = mods, mspans
    if _unconfirmed(a, mentions):
        return a
    if records and len(dates) >= min_rx:
        a.status, a.basis = "met", "clinical"
        a.evidence_spans = [records[0][1], *rx_spans[:3]]
        best = an.newest(rx_docs)
        if best is not None:
            a.basis_date, a.basis_spans = best.date, _date_span(best)
    else:
        a.status = "missing"
        a.evidence_spans = ([records[0][1]] if records else []) + rx_spans[:2]
        parts = []
        if not records:
            parts.append("无移植手术记录或出院小结")
            a.missing.append("提供器官移植手术记录或出院小结")
        if len(dates) < min_rx:
            parts.append(f"近2年内仅{len(dates)}次不同日期的抗排异处方")
            a.missing.append(f"提供近2年内至少{min_rx}次不同日期的抗排异药物处方")
        a.detail = "，".join(parts)
    return a


def _dated_docs_with(an: CaseAnalysis, disease: list[Mention], proof_views: list[DocView]) -> list[DocView]:
    """Documents stating the diagnosis together with its grade/complication (not findings-only)."""
    dx_views = _views_of([m for m in disease if m.certainty == "confirmed"])
    return [v for v in dx_views if v in proof_views]


def assess_hypertension(an: CaseAnalysis, d: Disease) -> Assessment:
    """高血压（伴并发症）: grade ≥ 2 (or SBP ≥ 160 / DBP ≥ 100) and ≥ 1 target-organ finding."""
    a = Assessment(disease=d)
    mentions = _scope_from_mentions(a, an, d, ["I10-I15"])
    ev = d.evidence.model_dump()
    sbp_min, dbp_min = ev.get("sbp_min", 160), ev.get("dbp_min", 100)
    grade_views: list[DocView] = []
    grade_spans = []
    for v in an.own:
        for m in _HTN_GRADE.finditer(v.half):
            if not v.in_injection(m.start()) and v.section_at(m.start()).name != "family":
                from agent.extract.certainty import certainty

                if certainty(v, m.start(), m.end()) == "confirmed":
                    grade_views.append(v)
                    grade_spans.append(v.span(m.start(), m.end()))
                    break
    for x in an.labs:
        if x.kind == "bp" and (x.value >= sbp_min or (x.value2 or 0) >= dbp_min):
            if x.view not in grade_views:
                grade_views.append(x.view)
            grade_spans.append(x.view.span(x.start, x.end))
    finds = an.findings(d.evidence.findings)
    find_views = _views_of(finds)
    mods, mspans = an.modalities(d.treatment.modalities)
    a.modalities, a.modality_spans = mods, mspans
    if _unconfirmed(a, mentions):
        return a
    if grade_views and finds:
        a.status, a.basis = "met", "clinical"
        a.evidence_spans = grade_spans[:2] + [f.view.span(f.start, f.end) for f in finds[:2]]
        stating = _dated_docs_with(an, mentions, grade_views + find_views)
        _finish_dates(a, an, stating or grade_views + find_views, stating)
    else:
        a.status = "missing"
        parts = []
        if not grade_views:
            parts.append(f"未见高血压2级及以上或血压≥{sbp_min}/{dbp_min}mmHg的记录")
            a.missing.append("提供高血压2级及以上的诊断依据（诊断证明或血压记录）")
        if not finds:
            parts.append(
                "未见确诊的靶器官损害（左心室肥厚、心力衰竭、脑梗死/脑出血、肾功能不全、眼底病变、动脉硬化/狭窄）"
            )
            a.missing.append("提供靶器官损害的检查报告（如超声心动图、头颅CT/MRI、眼底检查、肾功能）")
        a.detail = "；".join(parts)
        a.evidence_spans = grade_spans[:1]
    return a


def assess_diabetes(an: CaseAnalysis, d: Disease) -> Assessment:
    """糖尿病（伴并发症）: diagnosis, ≥ 1 complication, and hypoglycaemic or insulin therapy."""
    a = Assessment(disease=d)
    mentions = _scope_from_mentions(a, an, d, ["E10-E14"])
    finds = an.findings(d.evidence.findings)
    mods, mspans = an.modalities(d.treatment.modalities)
    a.modalities, a.modality_spans = mods, mspans
    if _unconfirmed(a, mentions):
        return a
    if mentions and finds and mods:
        a.status, a.basis = "met", "clinical"
        a.evidence_spans = [f.view.span(f.start, f.end) for f in finds[:2]] + mspans[:1]
        find_views = _views_of(finds)
        stating = _dated_docs_with(an, mentions, find_views)
        _finish_dates(a, an, stating or find_views, stating)
    else:
        a.status = "missing"
        parts = []
        if not finds:
            parts.append("未见确诊的糖尿病并发症（糖尿病肾病、视网膜病变、周围神经病变、糖尿病足）")
            a.missing.append("提供糖尿病并发症的检查报告（如尿白蛋白/肌酐比、眼底检查、肌电图）")
        if not mods:
            parts.append("未见降糖药物或胰岛素治疗记录")
            a.missing.append("提供降糖药物或胰岛素治疗记录（处方或门诊病历）")
        a.detail = "；".join(parts)
    return a
