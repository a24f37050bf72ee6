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


def masked_sentence(masked: Sequence[str]) -> str:
    """What was masked as a suspected instruction, and where (never "nothing was affected": the
    masked lines are evidence of nothing, which can change a check)."""
    if not masked:
        return "另：病历中含有针对审核人员或系统的指令性文字，未作为证据。"
    where = "、".join(masked)
    return f"另：已屏蔽病历中疑似指令文字{len(masked)}处（{where}），未作为证据（指令性文字所在行均不作认定依据）。"


def write_rationale(
    decision: str,
    reasons: list[str],
    checks: list[Check],
    form: ApplicationForm,
    flags: list[str],
    masked: Sequence[str] = (),
    *,
    excluded: Sequence[str] = (),
) -> str:
    """审核意见 for a recommendation (offline template; the LLM backend may rewrite it);
    ``masked`` says where suspected instructions were masked (``records/x.txt第3行``);
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
        lines.append(masked_sentence(masked))
    if "IDENTITY_MISMATCH" in flags and "IDENTITY_MISMATCH" not in reasons:
        lines.append("另：部分文书与申请人身份不符，未作为认定依据。")
    return "\n".join(lines)
