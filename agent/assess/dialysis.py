"""尿毒症透析 (RULES.md §1): eGFR or serum creatinine past the catalogue's thresholds in enough
laboratory reports of different dates, or records of maintenance dialysis."""

from __future__ import annotations

import re
from typing import ClassVar

from agent.assess.base import Assessment, MentionAssessor, finish_dates
from agent.core.catalog import DialysisDisease
from agent.core.criteria import DialysisCriteria, num
from agent.core.models import Span
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.document import HISTORY_SECTIONS, DocView
from agent.extract.mentions import Mention

_DIALYSIS_WORDS = re.compile(
    r"维持性(血液|腹膜)?透析|规律(血液|腹膜)?透析|规律血透|规律腹透|(?<![A-Za-z])(MHD|CAPD|APD)(?![A-Za-z])|"
    r"血液透析|腹膜透析|血透|腹透"
)
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


def _lab_reports(an: CaseAnalysis, crit: DialysisCriteria) -> tuple[list[DocView], list[Span]]:
    """Laboratory reports with a value past a threshold, and the value's span in each."""
    docs: list[DocView] = []
    spans: list[Span] = []
    for x in an.labs:
        # "reports" are laboratory reports; a note restating their values is not another report
        if x.section in HISTORY_SECTIONS or x.view.kind != "lab":
            continue
        qualifies = (x.kind == "egfr" and x.value <= crit.egfr_max) or (
            x.kind == "scr" and x.value >= crit.scr_min_umol_l
        )
        if qualifies and x.view not in docs:
            docs.append(x.view)
            spans.append(x.view.span(x.start, x.end))
    return docs, spans


def _dialysis_records(an: CaseAnalysis) -> tuple[list[DocView], list[Span]]:
    """Dialysis records, and clinical notes recording ongoing dialysis (not planned or offered)."""
    docs = [v for v in an.own if v.kind == "dialysis"]
    spans: list[Span] = []
    for v in an.own:
        if v.kind in CLINICAL_KINDS and v not in docs:
            for m in _DIALYSIS_WORDS.finditer(v.half):
                sec = v.section_at(m.start()).name
                sentence = _sentence(v, m.start(), m.end())
                if sec not in HISTORY_SECTIONS and not v.in_injection(m.start()) and _ongoing_dialysis(sentence):
                    docs.append(v)
                    spans.append(v.span(m.start(), m.end()))
                    break
    return docs, spans


class DialysisAssessor(MentionAssessor[DialysisDisease]):
    """尿毒症透析 on the shared skeleton."""

    family: ClassVar[list[str]] = ["N17-N19", "Z49", "Z99.2"]

    def criteria(self, a: Assessment, an: CaseAnalysis, d: DialysisDisease, mentions: list[Mention]) -> None:
        crit = d.evidence
        lab_docs, spans = _lab_reports(an, crit)
        dialysis_docs, note_spans = _dialysis_records(an)
        spans += note_spans + [v.line_span(0) for v in dialysis_docs[:2] if v.kind == "dialysis"]
        lab_dates = {v.date for v in lab_docs if v.date}
        enough = len(lab_dates) >= crit.min_reports
        if dialysis_docs or enough:
            a.status, a.basis = "met", "clinical"
            a.evidence_spans = spans[:4]
            qualifying = dialysis_docs + (lab_docs if enough else [])
            finish_dates(a, an, qualifying + lab_docs, qualifying + lab_docs)
            return
        a.status = "missing"
        a.evidence_spans = spans[:2]
        n, egfr, scr = len(lab_dates), num(crit.egfr_max), num(crit.scr_min_umol_l)
        a.detail = (
            f"仅{n}份不同日期的检验报告达到eGFR≤{egfr}或血肌酐≥{scr}μmol/L，且无维持性透析记录"
            if n
            else f"无eGFR≤{egfr}或血肌酐≥{scr}μmol/L的检验报告，也无维持性透析记录"
        )
        a.missing.append(f"提供至少{crit.min_reports}份不同日期达标的肾功能检验报告，或维持性透析治疗记录")


assess_dialysis = DialysisAssessor()
