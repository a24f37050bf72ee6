"""The OpenAI-compatible backend, a narrow second reader: the model fills what the offline
extractor missed (every quote verified verbatim and read by the assertion engine), is asked one
closed question per finding an approve rests on (a disagreement only withdraws it), and may
rewrite the 审核意见 if it cites a given clause. The decision stays with the checks; any model
failure degrades to the offline result, flagged LLM_FALLBACK.

The research loop of earlier versions is gone: with the shipped model it never finished a step,
and nothing it could add was allowed to decide."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import time
from dataclasses import replace
from typing import Any

from agent.assess import Assessment
from agent.coding.icd10 import normalize
from agent.core.deps import Deps
from agent.core.errors import LLMError
from agent.core.models import ApplicationForm, Case, Citation, FormField, Recommendation, Span
from agent.core.text import fold
from agent.extract.lexicon import MODALITIES
from agent.llm.client import LLMClient, Usage
from agent.llm.masking import Masker, NoMasker
from agent.llm.prompts import load_prompts
from agent.llm.schemas import ExtractAnswer, RationaleAnswer, ReaderAnswer
from agent.llm.second_reader import (
    QUESTION_MAX_TOKENS,
    approve_findings,
    read_all,
    rebuilt,
    withdraw,
)
from agent.llm.support import diagnosis_supported, supported_modalities
from agent.review.draft import DraftResult, draft_case

MAX_DOC_CHARS = 8000
_APPROVE_WORDS = ("建议予以认定", "同意认定", "予以批准", "建议批准")
_REFUSE_WORDS = ("不予认定", "补充材料")
# an opening or closing <document> tag, however spaced or cased: a record must not end its own fence
_FENCE_TAG = re.compile(r"<(\s*/?\s*document)", re.I)


def fenced(text: str) -> str:
    """Record text safe inside the prompt's ``<document>`` fence: a tag it holds is escaped."""
    return _FENCE_TAG.sub(r"&lt;\1", text)


def _fallback(flags: list[str], reasons: dict[str, str], exc: LLMError) -> None:
    """Flag LLM_FALLBACK with the first failure's reason (later ones follow from it)."""
    flags.append("LLM_FALLBACK")
    reasons.setdefault("LLM_FALLBACK", exc.message)


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``, exactly or after whitespace folding; None if absent."""
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    target = fold(quote)
    if not target:
        return None
    # map folded positions back to the original text
    positions = [k for k, ch in enumerate(text) if not ch.isspace()]
    folded = "".join(text[k] for k in positions)
    j = folded.find(target)
    if j < 0:
        return None
    return positions[j], positions[j + len(target) - 1] + 1


class OpenAIBackend:
    """Backend over any OpenAI-compatible endpoint."""

    name = "openai"
    io_bound = True  # requests wait on the network: a batch runs cases in threads

    def __init__(self, deps: Deps) -> None:
        self.settings = deps.settings
        self.client = LLMClient(deps.settings)
        self.prompts = load_prompts(str(deps.settings.prompts_dir))

    @property
    def model(self) -> str:
        """The chat model at the endpoint."""
        return self.settings.llm_model

    def _masker(self, case: Case) -> Masker:
        m: Masker = Masker() if self.settings.llm_mask else NoMasker()
        m.learn(case.info.applicant)
        return m

    def prompt_versions(self) -> dict[str, str]:
        """Id -> version of every prompt this backend may use."""
        return {p.id: p.version for p in self.prompts.values()}

    # ------------------------------------------------------------ extract
    def draft(self, case: Case, deps: Deps) -> ApplicationForm:
        """The form: offline first, the model filling what is missing."""
        return self._draft(case, deps, Usage()).form

    def _draft(self, case: Case, deps: Deps, usage: Usage) -> DraftResult:
        t0 = time.perf_counter()
        drafted = draft_case(case, deps.catalog, kb_version=deps.kb.version)
        form = drafted.form
        need = [
            f for f in ("primary_diagnosis", "icd10", "diagnosis_date", "treatment_modalities") if _missing(f, form)
        ]
        if not _confirmed(drafted.assessment):  # no treatment filled in for a case the rules do not confirm
            need = [f for f in need if f != "treatment_modalities"]
        flags = list(form.flags)
        reasons = dict(form.provenance.flag_reasons)
        if need and case.documents:
            t_llm = time.perf_counter()
            try:
                for name, value in self.extract_fields(case, form, need, flags, usage=usage).items():
                    form.fields[name] = value
            except LLMError as exc:
                _fallback(flags, reasons, exc)
            usage.seconds += time.perf_counter() - t_llm
        prov = form.provenance.model_copy(
            update={
                "backend": self.name,
                "model": self.model,
                "prompt_versions": self.prompt_versions(),
                "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2),
                "timings": {**form.provenance.timings, **usage.timings()},
                "flag_reasons": reasons,
            }
        )
        form = form.model_copy(update={"flags": list(dict.fromkeys(flags)), "provenance": prov})
        return replace(drafted, form=form)

    def extract_fields(
        self, case: Case, form: ApplicationForm, need: list[str], flags: list[str], *, usage: Usage | None = None
    ) -> dict[str, FormField]:
        """The model's values for ``need``, each with a quote verified verbatim in its record;
        ungrounded values are dropped (flag UNGROUNDED_LLM_VALUE). Raises LLMError on failure."""
        masker = self._masker(case)
        # masked first (the masker reads the raw text), then fenced: the record is data, never markup
        docs = [
            {"name": html.escape(d.name), "text": fenced(masker.mask(d.text[:MAX_DOC_CHARS]))} for d in case.documents
        ]
        offline = json.dumps(
            {
                k: form.fields[k].value
                for k in ("primary_diagnosis", "icd10", "diagnosis_basis", "diagnosis_date", "treatment_modalities")
            },
            ensure_ascii=False,
        )
        p = self.prompts["extract"]
        system, user = p.render(
            disease=form.disease or "未指定", fields_needed=need, documents=docs, offline=masker.mask(offline)
        )
        answer = self.client.structured(ExtractAnswer, system, user, prompt_id=p.id, version=p.version, usage=usage)
        data = masker.unmask(answer.model_dump())
        texts = {d.name: d.text for d in case.documents}
        out: dict[str, FormField] = {}
        if data.get("injection_suspected"):
            flags.append("PROMPT_INJECTION_SUSPECTED")
        for name in need:
            item = data.get(name) or {}
            value = _validated(name, item.get("value"))
            if value in (None, []):
                continue
            doc, quote = html.unescape(item.get("document") or ""), item.get("quote") or ""
            doc = next((n for n in texts if n == doc or n.endswith("/" + doc) or doc.endswith(n)), doc)
            where = locate(texts.get(doc, ""), quote)
            if where is None:
                flags.append("UNGROUNDED_LLM_VALUE")  # a quote not in the named record: the value is dropped
                continue
            span = Span(document=doc, quote=texts[doc][where[0] : where[1]], start=where[0], end=where[1])
            value = _supported(name, value, span.quote)
            if value in (None, []):
                flags.append("UNGROUNDED_LLM_VALUE")  # the quote names it negated, hedged or not at all
                continue
            out[name] = FormField(value=value, confidence=0.7, evidence=[span], source="llm")
        return out

    # ------------------------------------------------------------ review
    def review(self, case: Case, deps: Deps) -> Recommendation:
        """Checks decide (offline rules); the model may only withdraw an approve's findings, fill
        what the form lacks, and rewrite the rationale when it cites a given clause."""
        from agent.review.recommend import recommend

        t0 = time.perf_counter()
        usage = Usage()  # this case's calls and tokens, whatever other threads send meanwhile
        drafted = self._draft(case, deps, usage)
        rec = recommend(case, deps, drafted, started=t0)
        flags = list(rec.flags)
        reasons = dict(rec.provenance.flag_reasons)
        tool_calls: list[dict[str, Any]] = []
        withdrawn = False
        if rec.decision == "approve" and "LLM_FALLBACK" not in flags:
            t_llm = time.perf_counter()
            try:
                rec, withdrawn = self._second_read(case, deps, drafted, rec, flags, reasons, tool_calls, usage)
            except LLMError as exc:
                _fallback(flags, reasons, exc)
            usage.seconds += time.perf_counter() - t_llm
        rationale = rec.rationale
        if "LLM_FALLBACK" not in flags and not withdrawn:  # a withdrawal's 审核意见 names the quote: it stays
            t_llm = time.perf_counter()
            try:
                rationale = self._rationale(case, rec, rec.citations, usage) or rationale
            except LLMError as exc:
                _fallback(flags, reasons, exc)
            usage.seconds += time.perf_counter() - t_llm
        prov = rec.provenance.model_copy(
            update={
                "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2),
                "tool_calls": tool_calls,
                "timings": {**rec.provenance.timings, **usage.timings()},
                "flag_reasons": reasons,
            }
        )
        return rec.model_copy(update={"rationale": rationale, "flags": list(dict.fromkeys(flags)), "provenance": prov})

    def _second_read(
        self,
        case: Case,
        deps: Deps,
        drafted: DraftResult,
        rec: Recommendation,
        flags: list[str],
        reasons: dict[str, str],
        tool_calls: list[dict[str, Any]],
        usage: Usage,
    ) -> tuple[Recommendation, bool]:
        """Each finding of an approve put to the model; a disagreement withdraws it (→ need_info)."""
        findings = approve_findings(drafted.assessment)
        if not findings:
            return rec, False
        masker = self._masker(case)
        p = self.prompts["second_reader"]

        def ask(finding: str, role: str, document: str, text: str) -> ReaderAnswer:
            system, user = p.render(finding=finding, role=role, document=document, passage=fenced(text))
            return self.client.structured(
                ReaderAnswer,
                system,
                user,
                prompt_id=p.id,
                version=p.version,
                usage=usage,
                max_tokens=QUESTION_MAX_TOKENS,
            )

        verdicts = read_all(case, findings, masker, ask, self.settings.llm_concurrency)
        # what was asked and answered, never the record's words
        tool_calls += [
            {"tool": "second_reader", "check": v.finding.check, "role": v.finding.role, "answer": v.answer}
            for v in verdicts
        ]
        if any(v.answer == "ungrounded" for v in verdicts):
            flags.append("UNGROUNDED_LLM_VALUE")  # a disagreement quoting words it was not shown: dropped
        checks = withdraw(rec.checks, verdicts)
        if checks == rec.checks:
            return rec, False
        return rebuilt(rec, checks, verdicts, drafted, deps, flags, reasons), True

    def _rationale(self, case: Case, rec: Recommendation, citations: list[Citation], usage: Usage) -> str | None:
        """The model's 审核意见, accepted only if it cites at least one given clause (第X条 in its
        text), cites no other, and keeps the decision."""
        decision, checks = rec.decision or "", rec.checks
        masker = self._masker(case)
        p = self.prompts["rationale"]
        given = {c.clause_id for c in citations} | {c.clause_id for ch in checks for c in ch.citations}
        clauses = [{"clause_id": c.clause_id, "quote": c.quote[:200]} for c in citations]
        check_rows = [
            {
                "id": c.id,
                "name": c.name,
                "status": c.status,
                "reason_code": c.reason_code,
                "detail": masker.mask(c.detail),
            }
            for c in checks
        ]
        system, user = p.render(decision=decision, disease=rec.disease or "未指定", checks=check_rows, clauses=clauses)
        ans = self.client.structured(RationaleAnswer, system, user, prompt_id=p.id, version=p.version, usage=usage)
        text = str(masker.unmask(ans.rationale))
        return text if _rationale_ok(text, ans.cited_clause_ids, given, decision) else None


def _rationale_ok(text: str, cited: list[str], given: set[str], decision: str) -> bool:
    """A model rationale stands only if it names a given clause's article (第X条) in its text,
    cites nothing it was not given, and says the checks' decision."""
    if not cited or not set(cited) <= given:
        return False
    articles = {cid.split("#", 1)[-1] for cid in cited}
    if not any(a and a in text for a in articles):
        return False  # a line that names no clause: the offline rationale stands
    if decision != "approve" and any(w in text for w in _APPROVE_WORDS):
        return False  # contradicts the checks' decision
    return not (decision == "approve" and any(w in text for w in _REFUSE_WORDS))


def _confirmed(a: Assessment) -> bool:
    """A covered disease whose evidence the rules accept: the only case a treatment may be filled."""
    return a.disease is not None and a.scope == "pass" and a.status == "met"


def _supported(name: str, value: Any, quote: str) -> Any:
    """``value`` if its quote supports it (the term inside, no negation or hedge around it);
    modalities keep those the quote gives; None otherwise."""
    if name == "primary_diagnosis":
        return value if diagnosis_supported(str(value), quote) else None
    if name == "treatment_modalities":
        return supported_modalities(list(value), quote)
    return value


def _missing(name: str, form: ApplicationForm) -> bool:
    f = form.fields[name]
    if name == "diagnosis_date":
        return f.value is None and form.fields["diagnosis_basis"].value != "none"
    return f.value in (None, []) or f.confidence < 0.6


def _validated(name: str, value: Any) -> Any:
    """A model value in the form's vocabulary, or None."""
    if name == "icd10":
        return normalize(str(value)) if value else None
    if name == "diagnosis_date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat() if value else None
        except ValueError:
            return None
    if name == "treatment_modalities":
        return [m for m in (value or []) if m in MODALITIES] if isinstance(value, list) else []
    if name == "diagnosis_basis":
        # small models answer in Chinese as often as with the enum
        text = str(value or "").lower()
        for key, basis in (
            ("细胞", "cytology"),
            ("cytolog", "cytology"),
            ("病理", "pathology"),
            ("patholog", "pathology"),
            ("临床", "clinical"),
            ("clinical", "clinical"),
            ("none", "none"),
            ("无", "none"),
        ):
            if key in text:
                return basis
        return None
    return str(value).strip() if value else None


def make_backend(deps: Deps) -> Deps:
    """Deps with the configured backend attached."""
    if deps.settings.backend == "openai":
        return replace(deps, backend=OpenAIBackend(deps))
    return deps
