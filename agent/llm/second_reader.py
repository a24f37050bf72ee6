"""The model as a second reader: every finding that would decide an approve — the diagnosis
statement, check 4's evidence mentions, check 5's treatment mention — is put to the model as a
closed question about its sentence and the neighbouring ones (never the offline answer). A
disagreement can only withdraw the finding: the check becomes unknown with
SECOND_READER_DISAGREES, so an approve becomes need_info; nothing the model says can add one."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from agent.assess import Assessment
from agent.core.deps import Deps
from agent.core.models import Case, Check, Citation, Recommendation, Span
from agent.core.text import fold
from agent.llm.masking import Masker
from agent.llm.schemas import READER_ANSWERS, ReaderAnswer
from agent.review.checks import decide
from agent.review.draft import DraftResult
from agent.review.rationale import write_rationale

QUESTION_MAX_TOKENS = 64  # an enum and a short quote; a small model looping in a grammar stops here
MAX_QUESTIONS = 8
CONTEXT_CHARS = 160  # per side: the sentence and its neighbours, never the whole record
DISAGREES = "SECOND_READER_DISAGREES"
ANSWER_CN = {
    "stated": "明确记载",
    "negated": "被否定",
    "suspected": "仅为疑似",
    "other_person": "他人的内容",
    "request_or_plan": "申请/咨询或计划语句",
}
_ENDS = "。；;！!\n"
assert set(ANSWER_CN) == set(READER_ANSWERS)


@dataclass(frozen=True)
class Finding:
    """One mention an approve rests on, and the check it decides."""

    check: str  # diagnosis_evidence | treatment_plan
    role: str  # 诊断 / 认定依据 / 治疗方案, as the question names it
    span: Span


@dataclass(frozen=True)
class Verdict:
    """The model's answer about one finding, its quote verified in the passage it was shown."""

    finding: Finding
    answer: str
    quote: str


def approve_findings(a: Assessment) -> list[Finding]:
    """The findings an approve rests on, each once (a pathology conclusion is often both the
    diagnosis statement and the evidence)."""
    out: dict[tuple[str, int, int], Finding] = {}
    groups: list[tuple[str, str, list[Span]]] = [
        ("diagnosis_evidence", "诊断", a.primary_spans[:1]),
        ("diagnosis_evidence", "认定依据", a.evidence_spans),
    ]
    if a.disease is not None and a.disease.treatment.required:
        groups.append(("treatment_plan", "治疗方案", a.plan_spans))
    for check, role, spans in groups:
        for s in spans:
            out.setdefault((s.document, s.start, s.end), Finding(check, role, s))
    return list(out.values())[:MAX_QUESTIONS]


def _pieces(text: str) -> list[str]:
    """``text`` cut after each sentence end, the ends kept."""
    return [p for p in re.split(r"(?<=[。；;！!\n])", text) if p]


def _one_more(pieces: list[str]) -> list[str]:
    """The first piece (the rest of the finding's sentence) and the next non-blank one."""
    out = pieces[:1]
    for p in pieces[1:]:
        out.append(p)
        if p.strip(_ENDS + " \t\u3000"):
            break
    return out


def passage(text: str, span: Span) -> str:
    """The span's sentence with one sentence either side, each side bounded."""
    left = _pieces(text[max(0, span.start - CONTEXT_CHARS) : span.start])
    right = _pieces(text[span.end : span.end + CONTEXT_CHARS])
    before = "".join(reversed(_one_more(list(reversed(left)))))
    after = "".join(_one_more(right))
    return (before + text[span.start : span.end] + after).strip()


def _grounded(quote: str, shown: str) -> bool:
    """The quote is in the passage the model was shown (whitespace folded)."""
    q = fold(quote)
    return bool(q) and q in fold(shown)


Ask = Callable[[str, str, str, str], ReaderAnswer]  # (finding, role, document, passage) -> answer


def read_all(case: Case, findings: list[Finding], masker: Masker, ask: Ask, concurrency: int) -> list[Verdict]:
    """One closed question per finding, up to ``concurrency`` at once; an answer whose quote is
    not in its passage is dropped (flagged by the caller). Raises LLMError when a call fails."""
    texts = {d.name: d.text for d in case.documents}
    shown = [passage(texts.get(f.span.document, ""), f.span) for f in findings]

    def one(i: int) -> Verdict | None:
        f = findings[i]
        ans = ask(masker.mask(f.span.quote), f.role, html.escape(f.span.document), masker.mask(shown[i]))
        quote = str(masker.unmask(ans.quote or ""))
        if ans.answer != "stated" and not _grounded(quote, shown[i]):
            return Verdict(f, "ungrounded", quote)
        return Verdict(f, ans.answer, quote)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(findings)))) as pool:
        got = list(pool.map(one, range(len(findings))))
    return [v for v in got if v is not None]


def withdraw(checks: list[Check], verdicts: list[Verdict]) -> list[Check]:
    """``checks`` with every finding the model disagreed about withdrawn: its check becomes
    unknown (SECOND_READER_DISAGREES) with the quote and the model's answer in the detail."""
    against: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.answer in ANSWER_CN and v.answer != "stated":
            against.setdefault(v.finding.check, []).append(v)
    out = []
    for c in checks:
        vs = against.get(c.id)
        if not vs or c.status != "pass":
            out.append(c)
            continue
        said = "；".join(
            f"{v.finding.role}“{v.finding.span.quote}”，第二审读认为{ANSWER_CN[v.answer]}（原文：“{v.quote}”）"
            for v in vs
        )
        detail = f"{said}，该依据暂不计入，需人工核实。"
        out.append(
            c.model_copy(
                update={
                    "status": "unknown",
                    "reason_code": DISAGREES,
                    "detail": detail,
                    "evidence": [v.finding.span for v in vs],
                }
            )
        )
    return out


def excluded_notes(drafted: DraftResult) -> list[str]:
    """The 未计入 notes of the offline rationale (findings named but not counted)."""
    a = drafted.assessment
    findings = getattr(a.disease.evidence, "findings", None) if a.disease else None
    return drafted.analysis.excluded_notes(findings) if findings else []


def citations_after(checks: list[Any], codes: list[str], rec: Recommendation, deps: Deps) -> list[Citation]:
    """The citations of the checks that now decide (need_info), plus the injection clause kept."""
    out: dict[str, Citation] = {}
    for c in checks:
        if c.reason_code in codes and c.status != "pass":
            for cit in c.citations:
                out.setdefault(cit.clause_id, cit)
    keep = set(deps.catalog.rule_clauses("injection")) if "PROMPT_INJECTION_SUSPECTED" in rec.flags else set()
    for cit in rec.citations:
        if cit.clause_id in keep:
            out.setdefault(cit.clause_id, cit)
    return list(out.values())


def rebuilt(
    rec: Recommendation,
    checks: list[Check],
    verdicts: list[Verdict],
    drafted: DraftResult,
    deps: Deps,
    flags: list[str],
    reasons: dict[str, str],
) -> Recommendation:
    """The recommendation after a withdrawal: decided again by the checks (need_info), its
    citations, the offline 审核意见 naming the quote and the answer, the flag and its reason."""
    decision, codes = decide(checks)
    flags.append(DISAGREES)
    against = [v for v in verdicts if v.answer in ANSWER_CN and v.answer != "stated"]
    reasons[DISAGREES] = "；".join(f"{v.finding.role}：{ANSWER_CN[v.answer]}" for v in against)
    rationale = write_rationale(
        decision, codes, checks, drafted.form, flags, drafted.analysis.masked, excluded=excluded_notes(drafted)
    )
    return rec.model_copy(
        update={
            "decision": decision,
            "reason_codes": codes,
            "checks": checks,
            "citations": citations_after(checks, codes, rec, deps),
            "rationale": rationale,
            "flag_evidence": {**rec.flag_evidence, DISAGREES: [v.finding.span for v in against]},
        }
    )
