"""The OpenAI-compatible backend: the model fills what the offline extractor missed (every quote
verified verbatim), writes the 审核意见 (citing only given clauses), and researches cases the
catalogue does not settle in a bounded tool loop. The decision stays with the checks; any model
failure degrades to the offline result, flagged LLM_FALLBACK."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import time
from dataclasses import replace
from typing import Any

from agent.coding.icd10 import normalize
from agent.core.deps import Deps
from agent.core.errors import LLMError
from agent.core.models import ApplicationForm, Case, Citation, FormField, Recommendation, Span
from agent.core.text import fold
from agent.extract.lexicon import MODALITIES
from agent.llm.client import LLMClient, Usage
from agent.llm.masking import Masker, NoMasker
from agent.llm.prompts import load_prompts
from agent.llm.schemas import AgentStep, ExtractAnswer, RationaleAnswer
from agent.review.draft import DraftResult, draft_case

MAX_DOC_CHARS = 8000
MAX_AGENT_STEPS = 4
_APPROVE_WORDS = ("建议予以认定", "同意认定", "予以批准", "建议批准")
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
        flags = list(form.flags)
        reasons = dict(form.provenance.flag_reasons)
        if need and case.documents:
            try:
                for name, value in self.extract_fields(case, form, need, flags, usage=usage).items():
                    form.fields[name] = value
            except LLMError as exc:
                _fallback(flags, reasons, exc)
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
            out[name] = FormField(value=value, confidence=0.7, evidence=[span], source="llm")
        return out

    # ------------------------------------------------------------ review
    def review(self, case: Case, deps: Deps) -> Recommendation:
        """Checks decide (offline rules); the model adds context, findings and the rationale."""
        from agent.review.recommend import recommend

        t0 = time.perf_counter()
        usage = Usage()  # this case's calls and tokens, whatever other threads send meanwhile
        drafted = self._draft(case, deps, usage)
        rec = recommend(case, deps, drafted, started=t0)
        flags, citations = list(rec.flags), list(rec.citations)
        reasons = dict(rec.provenance.flag_reasons)
        findings: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        # a disease the catalogue does not cover, or evidence the rules leave unknown
        undecided = drafted.assessment.disease is None or any(
            c.status == "unknown" and c.id == "diagnosis_evidence" for c in rec.checks
        )
        if undecided and "LLM_FALLBACK" not in flags:
            try:
                findings, extra = self._research(case, drafted.form, rec.checks, deps, tool_calls, usage)
                citations += [c for c in extra if c.clause_id not in {x.clause_id for x in citations}]
            except LLMError as exc:
                _fallback(flags, reasons, exc)
        rationale = rec.rationale
        if "LLM_FALLBACK" not in flags:
            try:
                rationale = self._rationale(case, rec, citations, usage) or rationale
            except LLMError as exc:
                _fallback(flags, reasons, exc)
        prov = rec.provenance.model_copy(
            update={
                "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2),
                "tool_calls": tool_calls,
                "timings": {**rec.provenance.timings, **usage.timings()},
                "flag_reasons": reasons,
            }
        )
        return rec.model_copy(
            update={
                "citations": citations,
                "rationale": rationale,
                "flags": list(dict.fromkeys(flags)),
                "findings": findings,
                "provenance": prov,
            }
        )

    def _rationale(self, case: Case, rec: Recommendation, citations: list[Citation], usage: Usage) -> str | None:
        """The model's 审核意见, accepted only if it cites given clauses and keeps the decision."""
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
        if not set(ans.cited_clause_ids) <= given:
            return None  # cites a clause it was not given: the offline rationale stands
        if decision != "approve" and any(w in text for w in _APPROVE_WORDS):
            return None  # contradicts the checks' decision
        return text

    def _research(
        self,
        case: Case,
        form: ApplicationForm,
        checks: list[Any],
        deps: Deps,
        tool_calls: list[dict[str, Any]],
        usage: Usage,
    ) -> tuple[list[str], list[Citation]]:
        """≤ 4 tool steps for a case the catalogue does not settle; adds findings and citations."""
        from agent.review.checks import Cite

        p = self.prompts["agent"]
        unknown = [c for c in checks if c.status != "pass"]
        question = "；".join(f"{c.name}：{c.detail}" for c in unknown) or "目录规则未能判定"
        masker = self._masker(case)
        observations: list[str] = [
            masker.mask(f"主要诊断：{form.fields['primary_diagnosis'].value}，编码：{form.fields['icd10'].value}")
        ]
        seen_ids: set[str] = set()
        for _ in range(MAX_AGENT_STEPS):
            system, user = p.render(
                question=masker.mask(question),
                disease=form.disease or "未指定",
                observations=observations,
                tools=["search_policy", "lookup_icd10", "disease_criteria"],
            )
            step = self.client.structured(AgentStep, system, user, prompt_id=p.id, version=p.version, usage=usage)
            started = dt.datetime.now(dt.timezone.utc).isoformat()
            if step.action == "finish":
                tool_calls.append({"tool": "finish", "at": started})
                ids = [i for i in step.cite_clause_ids if i in seen_ids]
                return [str(masker.unmask(f)) for f in step.findings][:5], Cite(deps.kb.clause)(ids, [])
            result, shown = _run_tool(step.action, step.argument, deps)
            seen_ids |= shown
            tool_calls.append(
                {"tool": step.action, "argument": step.argument, "at": started, "result_ids": sorted(shown)}
            )
            observations.append(f"{step.action}({step.argument}) -> {result}")
        return [], []


def _run_tool(action: str, argument: str, deps: Deps) -> tuple[str, set[str]]:
    """Run one tool; returns a short observation and the clause ids it showed."""
    if action == "search_policy":
        hits = deps.kb.search(argument or "门特认定", k=3)
        return " | ".join(f"{h.clause_id}: {h.text[:120]}" for h in hits), {h.clause_id for h in hits}
    if action == "lookup_icd10":
        from agent.coding.icd10 import describe
        from agent.core.catalog import code_in

        code = normalize(argument)
        if code is None:
            return f"{argument!r} 不是有效的 ICD-10 编码", set()
        covered = [d.name for d in deps.catalog.diseases if code_in(code, d.icd10.qualifying)]
        return f"{code}: {describe(code)}; 目录病种: {', '.join(covered) or '无'}", set()
    d = deps.catalog.disease(argument)
    if d is None:
        return f"{argument!r} 不在门特病种目录内（目录：{', '.join(x.name for x in deps.catalog.diseases)}）", set()
    clause = deps.kb.clause(d.evidence.clause_id)
    return f"{d.name} 认定标准 {d.evidence.clause_id}: {clause.text[:200] if clause else ''}", {d.evidence.clause_id}


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
