"""The shared skeleton of every assessor: the Assessment it returns, the primary diagnosis from its
diagnosis item, dates and the evidence window, and the assessment of a disease outside the catalogue."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from agent.coding.icd10 import find_codes
from agent.core.catalog import Disease, code_in
from agent.core.models import Span
from agent.extract.analysis import CLINICAL_KINDS, CaseAnalysis
from agent.extract.dates import add_months
from agent.extract.document import DX_SECTIONS, DocView
from agent.extract.lexicon import tumour_code_named
from agent.extract.mentions import Mention, clean_name, diagnosis_item, name_code

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
