"""Non-tumour names composed of parts -> WHO code: transplant status (Z94) and graft failure (T86),
diabetes by type and complication (E10–E14), hypertensive disease by the organ it damaged
(I10–I15), chronic kidney disease by stage (N18). Names are normalised first (``norm``)."""

from __future__ import annotations

import re

_ORGANS = (("心肺", "3"), ("肾", "0"), ("肝", "4"), ("心脏", "1"), ("心", "1"), ("肺", "2"), ("角膜", "7"))
_OTHER_GRAFT = re.compile(r"(骨髓|造血干细胞|干细胞|胰腺|胰|小肠|皮肤|骨)移植")
_GRAFT_FAILURE = (("肾", "T86.1"), ("肝", "T86.4"), ("心", "T86.2"), ("肺", "T86.8"))
_FAILURE = re.compile(r"排斥|排异|失功|功能不全|功能衰竭|衰竭|丢失")


def transplant_code(n: str) -> str | None:
    """``肾移植术后``/``肾移植状态`` -> Z94.0 (肝 Z94.4, 心 Z94.1, 肺 Z94.2, 心肺 Z94.3); a failing
    or rejected graft (``移植肾排斥``) -> T86.x."""
    if "移植" not in n:
        return None
    for organ, code in _GRAFT_FAILURE:
        # 移植肾排斥 and 肾移植术后急性排斥反应 / 肝移植失败和排斥: the graft is failing (T86), not a status
        if (f"移植{organ}" in n or re.search(f"{organ}脏?移植", n)) and _FAILURE.search(n):
            return code
    if _OTHER_GRAFT.search(n):
        return "Z94.8"
    for organ, sub in _ORGANS:
        if re.search(f"{organ}脏?(联合)?移植|移植{organ}", n):
            return f"Z94.{sub}"
    return "Z94.9" if re.search(r"器官移植|移植状态|移植术后", n) else None


_DM_TYPE: tuple[tuple[str, str], ...] = (
    # the older official titles name the type by insulin dependence (non- before the plain form)
    ("非胰岛素依赖", "E11"),
    ("胰岛素依赖", "E10"),
    ("1型", "E10"),
    ("T1DM", "E10"),
    ("Ⅰ型", "E10"),
    ("2型", "E11"),
    ("T2DM", "E11"),
    ("Ⅱ型", "E11"),
    ("营养不良", "E12"),
    ("特殊类型", "E13"),
    ("其他特指", "E13"),
)
_DM_COMPLICATION = (
    (r"多个并发症|多种并发症|多发并发症|多并发症", ".7"),
    (r"昏迷", ".0"),
    (r"酮症|酸中毒", ".1"),
    (r"肾病|肾脏病|肾损害|肾的并发症|肾脏?并发症|肾小球硬化|DKD|DN(?![A-Z])", ".2"),
    (r"视网膜|眼底|黄斑|眼的并发症|眼并发症|白内障|NPDR|PDR|DR(?![A-Z])", ".3"),
    (r"神经病变|神经病|神经的并发症|神经并发症|DPN", ".4"),
    (r"糖尿病足|足溃疡|坏疽|周围血管|下肢动脉|周围循环|外周血管|血管病变", ".5"),
    (r"其他特指的并发症|关节病", ".6"),
    (r"未特指的并发症|伴并发症|伴有并发症", ".8"),
)


def diabetes_code(n: str) -> str | None:
    """A diabetes name composed of type and complication (``2型糖尿病肾病`` -> E11.2,
    ``1型糖尿病视网膜病变`` -> E10.3, type not stated -> E14.x, none named -> .9)."""
    if re.search(r"糖尿病前期|糖耐量(减低|异常|受损)", n):
        return "R73.0"  # not diabetes: abnormal glucose tolerance (prediabetes)
    if re.search(r"空腹血糖(受损|异常|调节受损)", n):
        return "R73.9"
    if "糖尿病" not in n and not re.search(r"T[12]DM|(?<![A-Z])DM(?![A-Z])", n):
        return None
    if re.search(r"妊娠|孕", n):
        return "O24.4" if "妊娠期" in n or "妊娠糖尿病" in n else "O24.9"
    cat = next((c for key, c in _DM_TYPE if key in n), "E14")
    for rx, sub in _DM_COMPLICATION:
        if re.search(rx, n) and not re.search(f"(不伴有?|无)({rx})", n):
            return cat + sub
    return cat + ".9"


# only a hypertensive heart or kidney disease named as such: 高血压2级 beside 慢性肾脏病3期 is two diagnoses
_HEART = re.compile(r"高血压(病)?性?心")
_HEART_FAILURE = re.compile(r"心力衰竭|心衰|心功能不全|心功能(NYHA)?(Ⅲ|Ⅳ|III|IV|3|4)级")
_KIDNEY = re.compile(r"高血压(病)?性?(心脏?病?(和|及|与|并|伴)?)?肾|小动脉性?肾硬化")
_KIDNEY_FAILURE = re.compile(
    r"肾衰竭|肾功能衰竭|肾衰|尿毒症|终末期|CKD(G)?5|CKDV|CKDⅤ|慢性肾脏病(G)?5|慢性肾脏病Ⅴ|慢性肾脏病V|5期|Ⅴ期|ESRD"
)


def hypertension_code(n: str) -> str | None:
    """Hypertensive disease by the organ it damaged: heart I11 (failure .0), kidney I12 (failure
    .0), both I13; secondary I15; else essential I10."""
    if "高血压" not in n:
        # 良性小动脉性肾硬化 is the hypertensive kidney by its pathological name
        return "I12.9" if re.search(r"小动脉性?肾硬化", n) else None
    if re.search(r"妊娠|孕期|产后", n):
        return "O16"  # hypertension in pregnancy is chapter XV, not I10–I15
    if re.search(r"肾血管性高血压", n):
        return "I15.0"
    if re.search(r"肾性高血压|肾实质性高血压", n):
        return "I15.1"
    if re.search(r"继发性高血压|内分泌性高血压", n):
        return "I15.2" if "内分泌" in n else "I15.9"
    heart, kidney = bool(_HEART.search(n)), bool(_KIDNEY.search(n))
    # 不伴有(充血性)心力衰竭 / 不伴有肾衰竭 names the failure only to exclude it
    hf = bool(_HEART_FAILURE.search(n)) and not re.search(r"不伴有?[(（]?充血性[)）]?心力衰竭|不伴有?心", n)
    kf = bool(_KIDNEY_FAILURE.search(n)) and not re.search(r"不伴有?肾", n)
    if heart and kidney:
        return "I13.2" if hf and kf else "I13.0" if hf else "I13.1" if kf else "I13.9"
    if heart:
        return "I11.0" if hf else "I11.9"
    if kidney:
        return "I12.0" if kf else "I12.9"
    return "I10"


_STAGE = {"1": "1", "2": "2", "3": "3", "4": "4", "5": "5", "Ⅰ": "1", "Ⅱ": "2", "Ⅲ": "3", "Ⅳ": "4", "Ⅴ": "5"}
_STAGE.update({"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5"})
_CKD = re.compile(
    r"(慢性肾脏?病|慢性肾脏疾病|慢性肾功能不全|慢性肾衰竭|慢性肾功能衰竭|CKD)(G)?(IV|V|I{1,3}|[1-5ⅠⅡⅢⅣⅤ])(A|B)?期?"
)


def kidney_code(n: str) -> str | None:
    """Chronic kidney disease by stage (``慢性肾脏病5期``/``CKD 5期`` -> N18.5, 1–4 -> N18.1–N18.4),
    end-stage -> N18.5, stage not stated -> N18.9; 尿毒症/肾衰竭 alone -> N19."""
    m = _CKD.search(n)
    if m:
        return f"N18.{_STAGE[m.group(3)]}"
    if re.search(r"终末期肾|ESRD|尿毒症期|肾衰竭尿毒症|肾功能衰竭尿毒症|慢性肾衰竭终末期", n):
        return "N18.5"
    if re.search(r"慢性肾脏?病|慢性肾脏疾病|慢性肾功能不全|慢性肾衰竭|慢性肾功能衰竭|CKD", n):
        return "N18.9"
    if re.search(r"透析状态|依赖透析|依赖肾透析", n):
        return "Z99.2"
    if re.search(r"尿毒症|肾功能衰竭|肾衰竭", n):
        return "N19"
    return None


def chronic_code(n: str) -> str | None:
    """The first rule that names ``n``: transplant, diabetes, hypertension, kidney. Diabetes and
    hypertension come before the kidney because 糖尿病肾病 CKD5期 is E11.2/E14.2 and 高血压肾病
    尿毒症期 I12.0 — the cause is coded, not the stage."""
    return transplant_code(n) or diabetes_code(n) or hypertension_code(n) or kidney_code(n)
