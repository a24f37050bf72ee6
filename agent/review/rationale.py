"""The offline 审核意见: Chinese prose naming each deciding check and the clause behind it."""

from __future__ import annotations

from collections.abc import Sequence

from agent.core.models import ApplicationForm, Check, Citation

_OPENING = {
    "approve": "建议予以认定",
    "reject": "建议不予认定",
    "need_info": "建议补充材料后再审",
}


def cite_text(cits: list[Citation], limit: int = 2) -> str:
    """《文件名》第X条, for the first clauses cited."""
    parts = []
    for c in cits[:limit]:
        article = c.clause_id.split("#", 1)[-1]
        parts.append(f"《{c.title}》{article}" if c.title else c.clause_id)
    return "、".join(parts)


def write_rationale(
    decision: str,
    reasons: list[str],
    checks: list[Check],
    form: ApplicationForm,
    flags: list[str],
    *,
    excluded: Sequence[str] = (),
) -> str:
    """审核意见 for a recommendation (offline template; the LLM backend may rewrite it).
    ``excluded``: findings named in the records but not counted, each with its assertion
    and trigger (``左心室肥厚（疑似：考虑）``)."""
    disease = form.disease or "所申请病种"
    dx = form.fields["primary_diagnosis"].value
    icd = form.fields["icd10"].value
    lines = [f"审核意见：{_OPENING[decision]}（{disease}）。"]
    if dx:
        lines.append(f"主要诊断：{dx}" + (f"（{icd}）" if icd else "") + "。")
    if decision == "approve":
        deciding = [
            c for c in checks if c.id in ("disease_scope", "diagnosis_evidence", "treatment_plan", "cross_region")
        ]
        for c in deciding:
            if c.id == "cross_region" and "异地" not in c.detail and "备案" not in c.detail:
                continue
            lines.append(f"{c.name}：{c.detail}" + (f"依据{cite_text(c.citations)}。" if c.citations else ""))
    else:
        for c in checks:
            if c.reason_code in reasons and c.status != "pass":
                lines.append(
                    f"{c.name}（{c.reason_code}）：{c.detail}"
                    + (f"依据{cite_text(c.citations)}。" if c.citations else "")
                )
    # what the records name but the review did not count, and why (a reviewer can check it)
    lines += [f"未计入：{note}" for note in excluded]
    if decision == "need_info" and form.missing:
        lines.append("请补充：" + "；".join(dict.fromkeys(form.missing)) + "。")
    if "PROMPT_INJECTION_SUSPECTED" in flags:
        lines.append("另：病历中含有针对审核人员或系统的指令性文字，已按证据处理并记录，未影响任何审核结论。")
    if "IDENTITY_MISMATCH" in flags and "IDENTITY_MISMATCH" not in reasons:
        lines.append("另：部分文书与申请人身份不符，未作为认定依据。")
    return "\n".join(lines)
