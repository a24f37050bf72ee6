"""糖尿病（伴并发症） (RULES.md §1): the diagnosis, at least one of the catalogue's complications, and
(where the catalogue requires it) hypoglycaemic or insulin therapy."""

from __future__ import annotations

from typing import ClassVar

from agent.assess.base import Assessment, MentionAssessor, docs_stating, finish_dates, views_of
from agent.core.catalog import DiabetesDisease
from agent.extract.analysis import CaseAnalysis
from agent.extract.mentions import Mention


class DiabetesAssessor(MentionAssessor[DiabetesDisease]):
    """糖尿病（伴并发症） on the shared skeleton."""

    # R73 (糖尿病前期, 空腹血糖受损): diagnosed, but not diabetes — DISEASE_NOT_COVERED, not missing
    family: ClassVar[list[str]] = ["E10-E14", "R73"]

    def criteria(self, a: Assessment, an: CaseAnalysis, d: DiabetesDisease, mentions: list[Mention]) -> None:
        crit = d.evidence
        finds = an.findings(crit.findings)
        therapy = bool(a.modalities) or not crit.requires_therapy
        if mentions and finds and therapy:
            a.status, a.basis = "met", "clinical"
            a.evidence_spans = [f.view.span(f.start, f.end) for f in finds[:2]] + a.modality_spans[:1]
            find_views = views_of(finds)
            stating = docs_stating(mentions, find_views)
            finish_dates(a, an, stating or find_views, stating)
            return
        a.status = "missing"
        parts = []
        if not finds:
            parts.append(f"未见确诊的糖尿病并发症（{'、'.join(crit.findings)}）")
            a.missing.append("提供糖尿病并发症的检查报告（如尿白蛋白/肌酐比、眼底检查、肌电图）")
        if not therapy:
            parts.append("未见降糖药物或胰岛素治疗记录")
            a.missing.append("提供降糖药物或胰岛素治疗记录（处方或门诊病历）")
        a.detail = "；".join(parts)


assess_diabetes = DiabetesAssessor()
