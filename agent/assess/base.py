"""The shared skeleton of every assessor: the Assessment it returns, the order of the steps
(scope, treatments, evidence, plan) in ``Assessor``, the primary diagnosis from its diagnosis item,
dates and the evidence window, and the assessment of a disease outside the catalogue."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, TypeVar

from agent.coding.icd10 import find_codes
from agent.core.catalog import Disease, code_in
from agent.core.criteria import months_cn
from agent.core.models import Span
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.dates import add_months
from agent.extract.document import DX_SECTIONS, DocView
from agent.extract.lexicon import tumour_code_named
from agent.extract.mentions import Mention, clean_name, diagnosis_item, name_code

Status = Literal["met", "missing", "unconfirmed", "expired"]
Scope = Literal["pass", "not_covered", "no_diagnosis"]
D = TypeVar("D", bound=Disease)
F = TypeVar("F")


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


class Assessor(Generic[D, F]):
    """The skeleton every assessor follows; a kind fills in ``scope`` (check 3: the primary
    diagnosis, returning what it found) and ``evidence`` (check 4), from its typed criteria."""

    plan_missing: ClassVar[str] = "提供治疗方案或治疗记录"

    def __call__(self, an: CaseAnalysis, d: D) -> Assessment:
        """The assessment of ``d`` in this case."""
        a = Assessment(disease=d)
        found = self.scope(a, an, d)
        a.modalities, a.modality_spans = an.modalities(list[str](d.treatment.modalities))
        a.plan, a.plan_spans = bool(a.modalities), list(a.modality_spans)
        self.evidence(a, an, d, found)
        if d.treatment.required and not a.plan:
            a.missing.append(self.plan_missing)
        return a

    def scope(self, a: Assessment, an: CaseAnalysis, d: D) -> F:
        """Set the primary diagnosis and ``a.scope``; return what the evidence step needs."""
        raise NotImplementedError

    def evidence(self, a: Assessment, an: CaseAnalysis, d: D, found: F) -> None:
        """Set ``a.status``, basis, evidence spans, detail and what is missing."""
        raise NotImplementedError


class MentionAssessor(Assessor[D, list[Mention]]):
    """The four non-tumour kinds: scope from the disease mentions (``family`` names the related
    codes that make a diagnosis 'not covered' rather than absent); a primary diagnosis that is only
    suspected is DIAGNOSIS_UNCONFIRMED before any criterion is looked at."""

    family: ClassVar[list[str]] = []

    def scope(self, a: Assessment, an: CaseAnalysis, d: D) -> list[Mention]:
        """The primary diagnosis among the disease mentions; returns the qualifying mentions."""
        return scope_from_mentions(a, an, d, self.family)

    def evidence(self, a: Assessment, an: CaseAnalysis, d: D, found: list[Mention]) -> None:
        """DIAGNOSIS_UNCONFIRMED for a suspected diagnosis, else the kind's criteria."""
        if not unconfirmed(a, found):
            self.criteria(a, an, d, found)

    def criteria(self, a: Assessment, an: CaseAnalysis, d: D, mentions: list[Mention]) -> None:
        """The kind's 认定标准 on a diagnosis that is not merely suspected."""
        raise NotImplementedError


def date_span(v: DocView) -> list[Span]:
    """The span of the document's own date, if it states one."""
    s = v.date_span()
    return [s] if s else []


def set_primary(a: Assessment, m: Mention, *, tumour: bool, patterns: list[str]) -> None:
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
    # Ph+ ALL: a name without Chinese that misses the mention is a prefix; take the word holding it
    if m.text not in a.primary_name and not re.search(r"[\u4e00-\u9fff]", a.primary_name):
        tok = max(m.view.text.rfind(" ", s, m.start) + 1, s)
        named = clean_name(m.view.text[tok:e], tumour=tumour, pathology=pathology)
        if m.text in named:
            a.primary_name = named
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
            # an abbreviation the name alone does not code (AML-M2, DLBCL): the term found, then the item
            or _abbreviation_code(a.primary_name, m, m.view.text[item_s:item_e])
        )
        a.icd_spans = [m.view.span(s, e)] if a.icd10 else []
        a.confidence = min(a.confidence, 0.8)
    a.rank = 0 if m.view.kind in CLINICAL_KINDS and m.in_dx_section else 1


def _latin_only(name: str) -> bool:
    """A name written without Chinese (AML-M2, DLBCL, Ph+ ALL)."""
    return not re.search(r"[\u4e00-\u9fff]", name)


def _abbreviation_code(name: str, m: Mention, item: str) -> str | None:
    """The code of a name written as an abbreviation: the term found (AML), else the whole item."""
    if not _latin_only(name):
        return None
    return name_code(m.text, m.kind) or name_code(item, m.kind)


_SEP = re.compile(r"[，,；;]|\u3000+| {2,}|\t|(?<![\dA-Za-z.．])\d{1,2}[.．、](?!\d)")  # 1. 2型糖尿病 2. 冠心病


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
            while a2 < b and ((sep := _SEP.match(text, a2)) or text[a2] in " "):
                a2 = max(a2 + 1, sep.end() if sep else 0)
            return a2, b
    return s, e


def window_start(an: CaseAnalysis, months: int) -> dt.date:
    """The first day of a window of ``months`` ending on the application date."""
    return add_months(an.app_date, -months)


def finish_dates(a: Assessment, an: CaseAnalysis, qualifying: list[DocView], date_docs: list[DocView]) -> None:
    """Basis date from ``date_docs`` (newest), and EVIDENCE_EXPIRED when every qualifying
    document is older than the evidence window (parameter ``evidence_max_age_months``)."""
    best = an.newest(date_docs or qualifying)
    if best is not None:
        a.basis_date = best.date
        a.basis_spans = date_span(best)
    months = an.catalog.parameters.evidence_max_age_months.value
    newest_q = an.newest(qualifying)
    if a.status == "met" and newest_q is not None and newest_q.date and newest_q.date < window_start(an, months):
        a.status = "expired"
        a.detail = f"最新认定材料日期为{newest_q.date.isoformat()}，距申请日已超过{months_cn(months)}"
        a.missing.append(f"提供近{months_cn(months)}内的认定材料（检查、检验或诊疗记录）")


# ---------------------------------------------------------------- shared for the four other diseases
def scope_from_mentions(a: Assessment, an: CaseAnalysis, d: Disease, family: list[str]) -> list[Mention]:
    """Primary diagnosis and check-3 scope for a non-tumour disease; returns its mentions."""
    qualifying = [m for m in an.disease_mentions_in(d.icd10.qualifying + d.icd10.also) if m.certainty != "negated"]
    if d.icd10.with_kidney_failure and an.disease_mentions_in(["N17-N19"]):
        qualifying += an.disease_mentions_in(d.icd10.with_kidney_failure)
    in_dx = [m for m in qualifying if _states_dx(m)]
    if not in_dx and _dx_statement_outside(a, an, d, family, qualifying):
        return []
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
        set_primary(a, primary, tumour=False, patterns=d.icd10.qualifying + d.icd10.also + d.icd10.with_kidney_failure)
        if a.icd10 is None or not code_in(a.icd10, d.icd10.qualifying + d.icd10.also + d.icd10.with_kidney_failure):
            a.icd10 = primary.code
        a.rank = an.dx_rank(primary) + (0 if primary.view.kind in CLINICAL_KINDS else 50)
        a.scope = "pass"
        return qualifying
    related = [m for m in an.disease_mentions_in(family) if m.certainty != "negated"]
    if related:
        _not_covered(a, an, d, related[0], family, related)
    else:
        a.scope_detail = f"病历中未找到{d.name}相关诊断名称或编码"
        a.missing.append(f"提供载明{d.name.split('（')[0]}诊断的出院小结、诊断证明或门诊病历")
    return []


def _states_dx(m: Mention) -> bool:
    return m.in_dx_section or m.section == "clinical_dx"


def _dx_statement_outside(
    a: Assessment, an: CaseAnalysis, d: Disease, family: list[str], qualifying: list[Mention]
) -> bool:
    """A diagnosis statement (诊断：慢性肾脏病4期) of the disease's family whose code does not qualify
    decides check 3 over a qualifying name found only in the history (现病史：诊断慢性肾脏病): the
    primary diagnosis comes from the diagnosis statement, so the case is not covered."""
    stated = [
        m
        for m in an.disease_mentions_in(family)
        if m.certainty == "confirmed" and _states_dx(m) and m not in qualifying and m.view.kind in CLINICAL_KINDS
    ]
    if not stated:
        return False
    newest = max(stated, key=lambda m: (m.view.date or dt.date.min).toordinal())
    _not_covered(a, an, d, newest, family, stated)
    return True


def _not_covered(
    a: Assessment, an: CaseAnalysis, d: Disease, m: Mention, family: list[str], among: list[Mention]
) -> None:
    """Check 3 fails on ``m``, a diagnosis of the disease's family outside its codes. RULES.md §4: the
    basis names the document that establishes it — a clinical document stating it (the same code,
    confirmed) is ``clinical``, dated by the newest such document."""
    set_primary(a, m, tumour=False, patterns=family)
    a.scope, a.scope_detail = "not_covered", f"诊断“{a.primary_name}”（{a.icd10}）不在{d.name}的编码范围内"
    views = [x.view for x in among if x.code == m.code and x.certainty == "confirmed" and x.view.kind in CLINICAL_KINDS]
    best = an.newest(views)
    if best is not None:
        a.basis, a.basis_date, a.basis_spans = "clinical", best.date, date_span(best)


def unconfirmed(a: Assessment, mentions: list[Mention]) -> bool:
    """DIAGNOSIS_UNCONFIRMED when every mention of the diagnosis is only suspected."""
    if mentions and not any(m.certainty == "confirmed" for m in mentions):
        a.status, a.detail = "unconfirmed", "主要诊断仅为疑似，尚未确诊"
        a.missing.append("提供确诊该病的诊断证明或检查报告")
        return True
    return False


def views_of(ms: list[Mention]) -> list[DocView]:
    """The documents of ``ms``, in order, each once."""
    seen: list[DocView] = []
    for m in ms:
        if m.view not in seen:
            seen.append(m.view)
    return seen


def docs_stating(disease: list[Mention], proof_views: list[DocView]) -> list[DocView]:
    """Documents stating the diagnosis together with its grade/complication (not findings-only)."""
    dx_views = views_of([m for m in disease if m.certainty == "confirmed"])
    return [v for v in dx_views if v in proof_views]


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
                a.basis_date, a.basis_spans = best.date, date_span(best)
            return a
    return a
