"""Task: Case (+ physician's form) -> Recommendation: the checks decide; citations come from
the catalogue by clause id; the rationale names each deciding check and clause."""

from __future__ import annotations

import time
from typing import Any

from agent import __version__
from agent.core.deps import Deps
from agent.core.models import Case, Check, Citation, Provenance, Recommendation
from agent.review.checks import Cite, decide, duplicate_status, province_differs, run_checks
from agent.review.draft import DraftResult, draft_case
from agent.review.rationale import write_rationale


def _form_check(disagreements: list[dict[str, Any]], cite: Cite, deps: Deps) -> Check:
    names = "、".join(d["field"] for d in disagreements)
    from agent.core.models import Span

    spans = [Span.model_validate(s) for d in disagreements for s in d.get("evidence", [])]
    return Check(
        id="form_consistency",
        name="申请表与病历一致性",
        status="unknown",
        reason_code="FORM_MISMATCH",
        detail=f"医师填写的申请表与病历记载不一致：{names}，请核对更正。",
        evidence=spans,
        citations=cite(deps.catalog.rule_clauses("diagnosis_evidence")[:1], ["diagnosis_evidence"]),
    )


def deciding_citations(
    decision: str, reasons: list[str], checks: list[Check], case: Case, deps: Deps, renewal: bool
) -> list[Citation]:
    """Citations for every check that decides the recommendation (RULES.md §3)."""
    by_id = {c.id: c for c in checks}
    picked: list[Check] = []
    if decision == "approve":
        picked = [by_id["disease_scope"], by_id["diagnosis_evidence"]]
        if province_differs(case.info):
            picked.append(by_id["cross_region"])
    else:
        picked = [c for c in checks if c.reason_code in reasons and c.status != "pass"]
    out: dict[str, Citation] = {}
    for c in picked:
        for cit in c.citations:
            out.setdefault(cit.clause_id, cit)
    if decision == "approve" and renewal:
        for cit in Cite(deps.kb.clause)(deps.catalog.rule_clauses("renewal"), ["validity_renewal"]):
            out.setdefault(cit.clause_id, cit)
    return list(out.values())


def review_case(case: Case, deps: Deps) -> Recommendation:
    """Review one loaded case."""
    t0 = time.perf_counter()
    drafted = draft_case(case, deps.catalog, kb_version=deps.kb.version)
    return recommend(case, deps, drafted, started=t0)


def recommend(case: Case, deps: Deps, drafted: DraftResult, *, started: float) -> Recommendation:
    """The checks, decision, deciding citations and offline rationale for a drafted case (both
    backends: the LLM one only adds to this)."""
    t_draft = time.perf_counter()
    cite = Cite(deps.kb.clause)
    checks = run_checks(case.info, drafted.analysis, drafted.assessment, deps.catalog, cite, deps.certifications)
    if drafted.form.disagreements:
        checks.append(_form_check(drafted.form.disagreements, cite, deps))
    decision, reasons = decide(checks)  # decide() returns one of approve / reject / need_info
    renewal = duplicate_status(case.info, drafted.assessment, deps.catalog, deps.certifications)[0] == "renewal"
    citations = deciding_citations(decision, reasons, checks, case, deps, renewal)
    flags = list(drafted.form.flags)
    if "PROMPT_INJECTION_SUSPECTED" in flags:
        for cit in cite(deps.catalog.rule_clauses("injection"), ["identity"]):
            if cit.clause_id not in {c.clause_id for c in citations}:
                citations.append(cit)
    # the findings a disease's criteria name (hypertension, diabetes), where set apart: 未计入…
    findings = getattr(drafted.assessment.disease.evidence, "findings", None) if drafted.assessment.disease else None
    excluded = drafted.analysis.excluded_notes(findings) if findings else []
    rationale = write_rationale(
        decision, reasons, checks, drafted.form, flags, drafted.analysis.masked, excluded=excluded
    )
    flag_evidence = {"PROMPT_INJECTION_SUSPECTED": drafted.analysis.injections} if drafted.analysis.injections else {}
    t_end = time.perf_counter()
    prov = drafted.form.provenance.model_copy(
        update={
            "backend": deps.backend_name,
            "elapsed_ms": round((t_end - started) * 1000, 2),
            "timings": {
                "draft_ms": round((t_draft - started) * 1000, 2),
                "checks_ms": round((t_end - t_draft) * 1000, 2),
            },
        }
    )
    return Recommendation(
        case_id=case.case_id,
        decision=decision,
        disease=drafted.form.disease,
        reason_codes=reasons,
        checks=checks,
        citations=citations,
        form=drafted.form,
        rationale=rationale,
        flags=flags,
        flag_evidence=flag_evidence,
        submitted_at=case.info.submitted_at.isoformat(),
        sign_off=deps.sign_offs.current_decision(case.case_id) if deps.sign_offs else None,
        provenance=prov,
    )


def error_recommendation(case_id: str, code: str, message: str, field: str | None, deps: Deps | None) -> Recommendation:
    """The line a case that cannot be processed still produces."""
    from agent.core.models import ErrorInfo

    return Recommendation(
        case_id=case_id,
        decision=None,
        error=ErrorInfo(code=code, message=message, field=field),
        provenance=Provenance(
            tool_version=__version__,
            kb_version=deps.kb.version if deps else None,
            catalog_hash=deps.catalog.sha256[:16] if deps else None,
        ),
    )
