"""高血压（伴并发症） (RULES.md §1): hypertension of at least the catalogue's grade (or blood pressure
at its thresholds) and at least one of its target-organ findings."""

from __future__ import annotations

import re
from typing import ClassVar

from agent.assess.base import Assessment, MentionAssessor, docs_stating, finish_dates, views_of
from agent.core.catalog import HypertensionDisease
from agent.core.criteria import HypertensionCriteria
from agent.core.models import Span
from agent.extract.analysis import CaseAnalysis
from agent.extract.certainty import certainty
from agent.extract.document import DocView
from agent.extract.mentions import Mention

_HTN_GRADE = re.compile(r"高血压(病)?\s*[(（]?\s*(1|2|3|一|二|三|Ⅰ|Ⅱ|Ⅲ|I|II|III)\s*级")
_GRADE = {"1": 1, "2": 2, "3": 3, "一": 1, "二": 2, "三": 3, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "I": 1, "II": 2, "III": 3}


def _graded(an: CaseAnalysis, crit: HypertensionCriteria) -> tuple[list[DocView], list[Span]]:
    """Documents stating a grade ≥ ``min_grade`` (confirmed, the applicant's own) or a blood
    pressure at the thresholds, with the spans."""
    views: list[DocView] = []
    spans: list[Span] = []
    for v in an.own:
        for m in _HTN_GRADE.finditer(v.half):
            if _GRADE[m.group(2)] < crit.min_grade or v.in_injection(m.start()):
                continue
            if v.section_at(m.start()).name != "family" and certainty(v, m.start(), m.end()) == "confirmed":
                views.append(v)
                spans.append(v.span(m.start(), m.end()))
                break
    for x in an.labs:
        at_threshold = x.kind == "bp" and (x.value >= crit.sbp_min or (x.value2 or 0) >= crit.dbp_min)
        # 从未超过160/100mmHg names the threshold only to deny it
        if at_threshold and certainty(x.view, x.start, x.end, "finding") != "negated":
            if x.view not in views:
                views.append(x.view)
            spans.append(x.view.span(x.start, x.end))
    return views, spans


class HypertensionAssessor(MentionAssessor[HypertensionDisease]):
    """高血压（伴并发症） on the shared skeleton."""

    family: ClassVar[list[str]] = ["I10-I15"]

    def criteria(self, a: Assessment, an: CaseAnalysis, d: HypertensionDisease, mentions: list[Mention]) -> None:
        crit = d.evidence
        grade_views, grade_spans = _graded(an, crit)
        finds = an.findings(crit.findings)
        if grade_views and finds:
            a.status, a.basis = "met", "clinical"
            a.evidence_spans = grade_spans[:2] + [f.view.span(f.start, f.end) for f in finds[:2]]
            find_views = views_of(finds)
            stating = docs_stating(mentions, grade_views + find_views)
            finish_dates(a, an, stating or grade_views + find_views, stating)
            return
        a.status = "missing"
        parts = []
        if not grade_views:
            parts.append(f"未见高血压{crit.min_grade}级及以上或血压≥{crit.sbp_min}/{crit.dbp_min}mmHg的记录")
            a.missing.append(f"提供高血压{crit.min_grade}级及以上的诊断依据（诊断证明或血压记录）")
        if not finds:
            parts.append(f"未见确诊的靶器官损害（{'、'.join(crit.findings)}）")
            a.missing.append("提供靶器官损害的检查报告（如超声心动图、头颅CT/MRI、眼底检查、肾功能）")
        a.detail = "；".join(parts)
        a.evidence_spans = grade_spans[:1]


assess_hypertension = HypertensionAssessor()
