"""Negation, uncertainty and whose-disease-is-it, as RULES.md reads them: 未见恶性/良性/阴性
negate; 考虑/疑似/可能/待排/不除外/待病理/？ leave a diagnosis unconfirmed; family history
is someone else's."""

from __future__ import annotations

import re
from typing import Literal

from agent.extract.document import DocView

Certainty = Literal["confirmed", "uncertain", "negated"]

_HEDGE = re.compile(
    r"不能排除|未能排除|不排除|未能证实|尚未证实|未证实|未获证实|不能证实|高度提示|提示可能|有无|是否|筛查|排查|考虑|疑似|疑为|可疑|怀疑|可能|待排|待除外|不除外|不能除外|不排除|除外不能|待病理|待确诊|待查|倾向|拟诊|性质待定|待定|待明确|[?？]"
)
_NEG_BEFORE = re.compile(
    r"(未见|未发现|未找到|未查见|未检出|未检到|未显示|未提示|未见明确|未见明显|排除|除外|否认|无明显|不伴|未合并|不支持|未达|未诊断)"
    r"[^，,。；;]{0,16}$"
    r"|(?<![\u4e00-\u9fa5])(无|非)[^，,。；;\u4e00-\u9fa5]{0,1}$|(无|非)(恶性|肿瘤|癌)?$"
)
_TRAILING_HEDGE = re.compile(r"^[^，,。；;\n]{0,8}[，,]\s*(待病理|待排|待除外|待确诊|待查|不除外|性质待定|待进一步)")
_NEG_AFTER = re.compile(
    r"^[^，,。；;]{0,6}((?<![三双])阴性(?!型)|\(-\)|（-）|已排除|可排除|可能性小|可能性不大|不考虑)"
)
_NOT_NEG = re.compile(r"(不除外|不能除外|待除外|除外不能|无法除外)[^，,。；;]{0,10}$")
_FAMILY = re.compile(
    r"(母亲|父亲|其母|其父|家母|家父|祖父|祖母|外祖|爷爷|奶奶|外公|外婆|哥哥|姐姐|弟弟|妹妹|兄长|胞兄|胞姐|胞弟|胞妹|儿子|女儿|"
    r"配偶|丈夫|妻子|爱人|舅舅|姨妈|阿姨|姑姑|叔叔|亲属|家族|一级亲属|家人|患者之子|患者之女|之子|之女|之母|之父)"
)


def certainty(view: DocView, start: int, end: int) -> Certainty:
    """Certainty of the term at [start, end) from its clause."""
    cs, ce = view.clause_bounds(start, end, commas=True)
    # negation reaches over a 、-list (否认糖尿病、冠心病、脑卒中); hedges stay in the comma clause
    ns, _ = view.clause_bounds(start, end, commas=True, enumeration=False)
    before = view.half[ns:start]
    after = view.half[end:ce]
    if _NEG_BEFORE.search(before) and not _NOT_NEG.search(before):
        return "negated"
    if _NEG_AFTER.search(after):
        return "negated"
    _ss, se = view.clause_bounds(start, end)
    # hedges in the comma-clause, or a trailing question mark right after the term
    if _HEDGE.search(view.half[cs:ce]) or re.match(r"^[^，,。；;]{0,12}[?？]", view.half[end:se]):
        return "uncertain"
    if _TRAILING_HEDGE.match(view.half[end:se]):  # 胃窦癌，待病理证实
        return "uncertain"
    return "confirmed"


def is_family(view: DocView, start: int, end: int) -> bool:
    """Whether the term belongs to a relative (family-history section or a relative named in the clause)."""
    if view.section_at(start).name == "family":
        return True
    cs, _ = view.clause_bounds(start, end, commas=False)
    for m in reversed(list(_FAMILY.finditer(view.half[cs:start]))):
        # a relative who tells the history or signs is an informant, not the patient
        if re.match(
            r"^.{0,2}(代诉|代述|代为|陪同|陪诊|诉|述|签字|签名|出示|要求|同意|知情)", view.half[cs + m.end() : start]
        ):
            continue
        return True
    return False
