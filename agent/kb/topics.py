"""Policy topics (RULES.md §3) and the keywords that tag untagged clauses of user documents."""

from __future__ import annotations

TOPICS: dict[str, str] = {
    "eligibility": "申请对象与参保状态",
    "designated_hospital": "定点医疗机构",
    "disease_scope": "病种范围与疾病编码",
    "diagnosis_evidence": "认定标准与诊断依据",
    "treatment_scope": "治疗与药品范围",
    "validity_renewal": "有效期、复审与退出",
    "duplicate": "重复认定",
    "cross_region": "异地就医与备案",
    "identity": "身份核验",
    "settlement": "门特费用结算与支付",
    "supervision": "智能监管与违规筛查",
}

# Check number (RULES.md §2) -> topics a recommendation must cite for it.
CHECK_TOPICS: dict[str, list[str]] = {
    "insurance_status": ["eligibility"],
    "designated_hospital": ["designated_hospital"],
    "disease_scope": ["disease_scope"],
    "diagnosis_evidence": ["diagnosis_evidence"],
    "treatment_plan": ["treatment_scope"],
    "duplicate": ["duplicate", "validity_renewal"],
    "cross_region": ["cross_region"],
    "identity": ["identity"],
}

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "eligibility": ("参保状态", "暂停参保", "终止参保", "参保人", "申请对象", "参保人员", "待遇享受"),
    "designated_hospital": ("定点医疗机构", "定点医院", "定点医药机构", "非定点"),
    "disease_scope": ("病种范围", "病种目录", "疾病编码", "ICD", "纳入范围", "原位癌", "良性肿瘤"),
    "diagnosis_evidence": ("认定标准", "病理", "细胞学", "诊断证明", "影像", "检验报告", "诊断依据", "疑似"),
    "treatment_scope": ("放疗", "化疗", "靶向", "内分泌治疗", "免疫治疗", "透析治疗", "治疗方案", "抗排异药"),
    "validity_renewal": ("有效期", "复审", "续期", "退出", "到期"),
    "duplicate": ("重复认定", "重复申请", "同一病种"),
    "cross_region": ("异地", "备案", "跨省", "参保地", "就医地"),
    "identity": ("身份", "冒用", "人证不符", "身份证"),
    "settlement": ("起付标准", "支付比例", "先行自付", "最高支付限额", "结算", "定额"),
    "supervision": ("智能监管", "违规", "可疑", "超量", "提前取药"),
}


def infer_topics(text: str) -> list[str]:
    """Topics whose keywords occur in ``text``, in the canonical order (used for untagged clauses)."""
    return [topic for topic, words in _KEYWORDS.items() if any(w in text for w in words)]
