"""器官移植术后抗排异治疗 (RULES.md §1): a transplant record of any age, and enough prescriptions of
the catalogue's anti-rejection drugs on different dates within its window."""

from __future__ import annotations

import re
from typing import ClassVar

from agent.assess.base import Assessment, MentionAssessor, date_span, window_start
from agent.core.catalog import TransplantDisease
from agent.core.criteria import TransplantCriteria, months_cn
from agent.core.models import Span
from agent.extract.analysis import CaseAnalysis
from agent.extract.document import DocView
from agent.extract.mentions import Mention

_TRANSPLANT = re.compile(r"(肾|肝|心脏|心|肺|胰腺|胰肾|小肠|角膜|骨髓|造血干细胞)?(?:脏)?移植(术|手术)?")


def _transplant_records(an: CaseAnalysis) -> list[Span]:
    """Where an operation record, discharge summary or certificate states the transplant."""
    records = []
    for v in an.own:
        if v.kind not in ("operation", "discharge", "certificate"):
            continue
        for m in _TRANSPLANT.finditer(v.half):
            named = m.group(1) or m.group(2)  # a bare 移植, with no organ and no 术, does not state the operation
            if named and v.section_at(m.start()).name != "family" and not v.in_injection(m.start()):
                records.append(v.span(m.start(), m.end()))
                break
    return records


def _prescriptions(an: CaseAnalysis, crit: TransplantCriteria) -> tuple[list[DocView], list[Span]]:
    """Documents ordering a catalogue anti-rejection drug within the window, and the orders."""
    start = window_start(an, crit.window_months)
    drugs = set(crit.drugs)
    rx_docs: list[DocView] = []
    rx_spans = []
    for t in an.treatments:
        v = t.view
        if t.term not in drugs or v.kind in ("lab", "imaging", "pathology"):
            continue
        if v.kind != "prescription" and t.section not in ("plan", "header", "dx", "course", "other"):
            continue
        if v.date and start <= v.date <= an.app_date and v not in rx_docs:
            rx_docs.append(v)
            rx_spans.append(v.span(t.start, t.end))
    return rx_docs, rx_spans


class TransplantAssessor(MentionAssessor[TransplantDisease]):
    """器官移植术后抗排异治疗 on the shared skeleton."""

    family: ClassVar[list[str]] = ["Z94", "T86"]

    def criteria(self, a: Assessment, an: CaseAnalysis, d: TransplantDisease, mentions: list[Mention]) -> None:
        crit = d.evidence
        records = _transplant_records(an)
        rx_docs, rx_spans = _prescriptions(an, crit)
        dates = {v.date for v in rx_docs}
        if records and len(dates) >= crit.min_prescriptions:
            a.status, a.basis = "met", "clinical"
            a.evidence_spans = [records[0], *rx_spans[:3]]
            best = an.newest(rx_docs)
            if best is not None:
                a.basis_date, a.basis_spans = best.date, date_span(best)
            return
        a.status = "missing"
        a.evidence_spans = records[:1] + rx_spans[:2]
        window, parts = months_cn(crit.window_months), []
        if not records:
            parts.append("无移植手术记录或出院小结")
            a.missing.append("提供器官移植手术记录或出院小结")
        if len(dates) < crit.min_prescriptions:
            parts.append(f"近{window}内仅{len(dates)}次不同日期的抗排异处方")
            a.missing.append(f"提供近{window}内至少{crit.min_prescriptions}次不同日期的抗排异药物处方")
        a.detail = "，".join(parts)


assess_transplant = TransplantAssessor()
