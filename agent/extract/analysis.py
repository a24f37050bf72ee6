"""A case, read once: document views, injection spans, identities, and the mentions the
evidence rules look at. Records naming another person are set apart and never used as evidence."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from agent.core.catalog import Catalog, code_in
from agent.core.models import Case, Span
from agent.extract.document import DX_SECTIONS, HISTORY_SECTIONS, DocView
from agent.extract.identity import Identity, document_identity
from agent.extract.injection import find_injections, masked_location
from agent.extract.labs import LabValue, lab_values
from agent.extract.mentions import Mention, disease_mentions, finding_mentions, tumour_mentions
from agent.extract.restated import restated
from agent.extract.treatments import TreatmentMention, treatment_mentions

CLINICAL_KINDS = ("discharge", "certificate", "outpatient", "admission", "consult", "operation")
# How a record's heading states its institution's level (医院等级); primary-care institutions are below 二级.
_LEVEL_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("一级医院", "一级甲等", "一级乙等", "社区卫生服务", "卫生院", "诊所", "门诊部", "卫生室", "医务室")),
    (2, ("二级医院", "二级甲等", "二级乙等", "二甲")),
    (3, ("三级医院", "三级甲等", "三级乙等", "三甲")),
)


class CaseAnalysis:
    """Everything the extractor finds in one case's records."""

    def __init__(self, case: Case, catalog: Catalog) -> None:
        self.case = case
        self.catalog = catalog
        self.views = [DocView(d) for d in case.documents]
        self.injections: list[Span] = []
        self.injection_titles: list[str] = []
        # where each masked instruction stands (records/病理.txt第3行, records/x.json标题), for the 审核意见
        self.masked: list[str] = []
        for v in self.views:
            spans, title_hit = find_injections(v)
            self.injections += spans
            self.masked += [masked_location(v, s) for s in spans]
            if title_hit:
                self.injection_titles.append(v.name)
                self.masked.append(f"{v.name}标题")
        self.identities: dict[str, Identity] = {v.name: document_identity(v, case.info.applicant) for v in self.views}
        # a record about someone else is evidence of nothing for this applicant (a block of
        # another person's text pasted into it is set apart by the assertion engine instead)
        self.own = [v for v in self.views if not self.identities[v.name].own_problems]
        self._findings_memo: dict[tuple[object, ...], list[Mention]] = {}

    @property
    def app_date(self) -> dt.date:
        return self.case.info.application_date

    # ------------------------------------------------------------ mentions (own records only)
    # Diagnosis candidates are diagnosis statements only: a request or application sentence, a
    # plan, a relative's or another patient's text never reaches an assessor.
    @cached_property
    def tumour(self) -> list[Mention]:
        return [m for v in self.own for m in tumour_mentions(v) if m.is_statement and not v.in_injection(m.start)]

    @cached_property
    def diseases(self) -> list[Mention]:
        return [m for v in self.own for m in disease_mentions(v) if m.is_statement and not v.in_injection(m.start)]

    @cached_property
    def _treatments_documented(self) -> list[TreatmentMention]:
        """Treatments given, prescribed or planned, and those only continued (本次未开药)."""
        return [
            t
            for v in self.own
            for t in treatment_mentions(v)
            if t.counts or (t.assertion.category == "historical" and not v.in_injection(t.start))
        ]

    @cached_property
    def treatments(self) -> list[TreatmentMention]:
        """Treatments this applicant's records give, prescribe or plan (a drug only continued
        without being prescribed here is no prescription)."""
        return [t for t in self._treatments_documented if t.counts]

    @cached_property
    def labs(self) -> list[LabValue]:
        return [x for v in self.own for x in lab_values(v) if not x.family and not v.in_injection(x.start)]

    def findings(self, findings: dict[str, list[str]]) -> list[Mention]:
        """Catalogue findings that count: affirmed, the applicant's own, not in an instruction."""
        return [m for m in self._finding_mentions(findings) if m.counts]

    def excluded_findings(self, findings: dict[str, list[str]]) -> list[Mention]:
        """Catalogue findings named but not counted (negated, suspected, healed, planned, a request,
        someone else's), each with the trigger that set it apart; one per finding and reason."""
        out: dict[tuple[str, str], Mention] = {}
        for m in self._finding_mentions(findings):
            if not m.counts and not m.view.in_injection(m.start):
                out.setdefault((m.label, m.assertion.category), m)
        return list(out.values())

    def excluded_notes(self, findings: dict[str, list[str]], limit: int = 3) -> list[str]:
        """``左心室肥厚（疑似：考虑）`` for each finding named but set apart, where no counted
        mention of the same finding stands elsewhere (only those would have mattered)."""
        counted = {m.label for m in self.findings(findings)}
        notes: dict[str, str] = {}
        for m in self.excluded_findings(findings):
            if m.label not in counted:
                notes.setdefault(m.label, f"{m.text}（{m.assertion.note()}）")
        return list(notes.values())[:limit]

    def _finding_mentions(self, findings: dict[str, list[str]]) -> list[Mention]:
        key = tuple(sorted((k, tuple(v)) for k, v in findings.items()))
        memo = self._findings_memo.get(key)
        if memo is None:
            memo = [restated(m) for v in self.own for m in finding_mentions(v, findings)]
            self._findings_memo[key] = memo
        return memo

    def disease_mentions_in(self, patterns: list[str]) -> list[Mention]:
        """Non-tumour disease mentions whose code falls in ``patterns``, in document order."""
        return [m for m in self.diseases if m.code and code_in(m.code, patterns)]

    def modalities(self, allowed: list[str]) -> tuple[list[str], list[Span]]:
        """Modalities documented (finished, ongoing or planned) among ``allowed``, with evidence."""
        found: dict[str, Span] = {}
        # an ongoing therapy documents the modality even where this record does not prescribe it
        for t in self._treatments_documented:
            if t.view.kind == "lab":
                continue
            for mod in t.modalities:
                if mod in allowed and mod not in found:
                    found[mod] = t.view.span(t.start, t.end)
        ordered = [m for m in allowed if m in found]
        return ordered, [found[m] for m in ordered]

    # ------------------------------------------------------------ helpers
    def newest(self, views: list[DocView]) -> DocView | None:
        """The view with the newest own date (undated ones last)."""
        dated = [v for v in views if v.date]
        return max(dated, key=lambda v: v.date or dt.date.min) if dated else (views[0] if views else None)

    @staticmethod
    def hospital_level(view: DocView) -> int | None:
        """The level (1–3) of the institution the record's heading names, the lowest where it
        names several; None where it states none (the level is then not held against it)."""
        head = view.half[:200]
        return next((level for level, words in _LEVEL_WORDS if any(w in head for w in words)), None)

    @staticmethod
    def relevant(m: Mention) -> bool:
        """A mention in a section that states the document's own conclusion."""
        has_dx = any(s.name in DX_SECTIONS for s in m.view.sections)
        if has_dx:
            return m.section in DX_SECTIONS
        return m.section not in HISTORY_SECTIONS and m.section != "clinical_dx"

    def dx_rank(self, m: Mention) -> int:
        """How far down its diagnosis list a mention stands (0 = first line of a discharge or
        final diagnosis); admission and preliminary diagnoses rank after final ones."""
        sec = m.view.section_at(m.start)
        if sec.name not in DX_SECTIONS:
            return 100
        line = m.view.text.count("\n", sec.start, m.start)
        if any(w in sec.heading for w in ("入院", "初步", "术前", "门诊诊断")) and sec.heading != "诊断":
            line += 20
        return line
