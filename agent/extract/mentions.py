"""Diagnosis mentions: malignant/in-situ/benign tumour terms, covered non-tumour diseases,
ICD-10 codes on the same diagnosis line, and catalogue findings — each with certainty."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.coding.icd10 import find_codes
from agent.extract.assertion import AFFIRMED, Assertion, assert_mention
from agent.extract.certainty import Certainty
from agent.extract.document import DX_SECTIONS, DocView
from agent.extract.lexicon import alternation, disease_code, lexicon, tumour_code

# Words containing a malignant term that are not a diagnosis.
_NOT_DX = re.compile(
    r"恶性肿瘤门特|肿瘤门特|恶性肿瘤.{0,2}病种|恶性肿瘤门诊|恶性肿瘤放化疗|恶性肿瘤（非|门诊特定病种|癌胚抗原|癌抗原|抗癌|防癌|癌症筛查|肿瘤标志物|癌前|恶性程度|癌基因|抑癌|恶性贫血|恶性高血压|恶心"
)
# 降低…乳腺癌风险, 预防…: a disease named as a risk is not a diagnosis
_RISK_BEFORE = re.compile(r"(降低|预防|减少|避免|担心|害怕|顾虑|恐惧|焦虑)[^，,。；;]{0,8}$")
_RISK_AFTER = re.compile(r"^[^，,。；;]{0,3}风险")
_ITEM_PREFIX = re.compile(
    r"^[ \t\u3000]*(?:[(（]?[0-9一二三四五六七八九十]{1,2}[)）.、．:：]|[①-⑳]|[-•·*])?[ \t\u3000]*"
)


@dataclass
class Mention:
    """A diagnosis or finding in one document."""

    view: DocView
    start: int
    end: int
    kind: str  # malignant | in_situ | benign | disease | finding
    certainty: Certainty
    family: bool
    section: str
    code: str | None = None  # WHO code from the line or from the name
    code_start: int = -1
    code_end: int = -1
    label: str = ""  # canonical finding name, or the matched disease name
    assertion: Assertion = AFFIRMED  # category and the trigger that set it

    @property
    def text(self) -> str:
        return self.view.text[self.start : self.end]

    @property
    def in_dx_section(self) -> bool:
        return self.section in DX_SECTIONS

    @property
    def counts(self) -> bool:
        """Affirmed (not negated, suspected, planned, healed, a request or someone else's) and not
        inside text flagged as an instruction."""
        return self.assertion.category == "affirmed" and not self.view.in_injection(self.start)

    @property
    def is_statement(self) -> bool:
        """A diagnosis the record states (not a request, a plan or another person's)."""
        return self.assertion.category not in ("administrative", "hypothetical", "other_person")


def _mention(view: DocView, s: int, e: int, kind: str, target: str = "diagnosis", **kw: object) -> Mention:
    """A mention with its assertion read once."""
    a = assert_mention(view, s, e, target)
    cert: Certainty = a.certainty  # type: ignore[assignment]
    return Mention(
        view,
        s,
        e,
        kind,
        cert,
        a.category == "other_person",
        view.section_at(s).name,
        assertion=a,
        **kw,  # type: ignore[arg-type]
    )


def _line_code(view: DocView, offset: int) -> tuple[str | None, int, int]:
    """An ICD-10 code on the same line (or alone on the next line)."""
    ls, le = view.line_bounds(offset)
    codes = find_codes(view.text[ls:le])
    if not codes:
        nxt_s, nxt_e = view.line_bounds(min(len(view.text) - 1, le + 1)) if le + 1 < len(view.text) else (le, le)
        nxt = view.text[nxt_s:nxt_e]
        if re.match(r"^\s*(ICD|编码|疾病编码|诊断编码)", nxt):
            codes = find_codes(nxt)
            ls = nxt_s
    if not codes:
        return None, -1, -1
    c = codes[0]
    return c.who, ls + c.start, ls + c.end


def tumour_mentions(view: DocView) -> list[Mention]:
    """Malignant, in-situ and benign tumour terms in the document."""
    lx = lexicon()
    out: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in (("in_situ", lx.in_situ_re), ("malignant", lx.malignant_re)):
        for m in rx.finditer(view.half):
            s, e = m.start(), m.end()
            if any(a <= s < b for a, b in taken):
                continue
            ctx = view.half[max(0, s - 4) : e + 4]
            if (
                _NOT_DX.search(ctx)
                or _RISK_BEFORE.search(view.half[max(0, s - 10) : s])
                or _RISK_AFTER.match(view.half[e : e + 6])
            ):
                continue
            taken.append((s, e))
            sec = view.section_at(s).name
            code, cs, ce = _line_code(view, s) if sec in DX_SECTIONS or sec == "header" else (None, -1, -1)
            out.append(_mention(view, s, e, kind, code=code, code_start=cs, code_end=ce))
    for m in lx.benign_re.finditer(view.half):
        s, e = m.start(), m.end()
        sec = view.section_at(s).name
        if sec in DX_SECTIONS and not any(a <= s < b for a, b in taken):
            code, cs, ce = _line_code(view, s)
            out.append(_mention(view, s, e, "benign", code=code, code_start=cs, code_end=ce))
    return sorted(out, key=lambda x: x.start)


def disease_mentions(view: DocView) -> list[Mention]:
    """Covered non-tumour disease names and ICD codes in diagnosis lines."""
    lx = lexicon()
    out: list[Mention] = []
    for m in lx.disease_name_re.finditer(view.half):
        s, e = m.start(), m.end()
        sec = view.section_at(s).name
        code, cs, ce = _line_code(view, s) if sec in DX_SECTIONS or sec in ("header", "clinical_dx") else (None, -1, -1)
        name_code = disease_code(view.half[s:e])
        if code and name_code and code[0] != name_code[0]:
            # the line's code belongs to another diagnosis on it (糖尿病肾病　慢性肾脏病5期 N18.500)
            code, cs, ce = None, -1, -1
        out.append(
            _mention(view, s, e, "disease", code=code or name_code, code_start=cs, code_end=ce, label=view.text[s:e])
        )
    # codes written alone in diagnosis lines (e.g. "ICD-10: N18.5")
    seen = {(x.code_start) for x in out}
    for section in view.sections:
        if section.name not in DX_SECTIONS and section.name != "clinical_dx":
            continue
        for c in find_codes(view.text[section.start : section.end]):
            s = section.start + c.start
            if s in seen:
                continue
            a = assert_mention(view, s, s + 1)
            cert: Certainty = a.certainty  # type: ignore[assignment]
            out.append(
                Mention(
                    view,
                    s,
                    section.start + c.end,
                    "code",
                    cert,
                    False,
                    section.name,
                    c.who,
                    s,
                    section.start + c.end,
                    label=c.raw,
                    assertion=a,
                )
            )
    return sorted(out, key=lambda x: x.start)


def finding_mentions(view: DocView, findings: dict[str, list[str]]) -> list[Mention]:
    """Catalogue findings (左心室肥厚, 糖尿病肾病 …) named in the document."""
    out: list[Mention] = []
    for label, words in findings.items():
        rx = re.compile(alternation(words))
        for m in rx.finditer(view.half):
            s, e = m.start(), m.end()
            out.append(_mention(view, s, e, "finding", "finding", label=label))
    return sorted(out, key=lambda x: x.start)


def diagnosis_item(view: DocView, offset: int) -> tuple[int, int]:
    """The diagnosis item around ``offset``: its line without numbering, trimmed of trailing space."""
    ls, le = view.line_bounds(offset)
    line = view.text[ls:le]
    m = _ITEM_PREFIX.match(line)
    s = ls + (m.end() if m else 0)
    # a heading on the same line ("诊断：xxx") is not part of the item
    head = re.match(r"^[^：:]{1,12}[：:]\s*", view.text[s:le])
    if head and s + head.end() <= offset:
        s += head.end()
        m2 = _ITEM_PREFIX.match(view.text[s:le])
        if m2 and s + m2.end() <= offset:
            s += m2.end()
    # several items on one line ("1.肺癌 2.高血压"): cut at the next numbering
    nxt = re.search(r"[ \t\u3000；;，,][(（]?[0-9]{1,2}[.、．)）]", view.text[offset:le])
    e = offset + nxt.start() if nxt else le
    while e > s and view.text[e - 1] in " \t\u3000\r；;，,。":
        e -= 1
    return s, e


_MODIFIERS = re.compile(
    r"浸润性(?!导管癌|小叶癌)|非特殊类型|\(非特殊类型\)|（非特殊类型）|[高中低]分化|中[-—~至]?低分化|高[-—~至]?中分化|溃疡型|隆起型|浸润型|"
    r"肿块型|结节型|弥漫型|蕈伞型|髓质型|缩窄型|非角化型|角化型|未分化型|微浸润|局限型"
)
_HISTOLOGY = re.compile(
    r"腺癌|鳞癌|细胞癌|小细胞|淋巴瘤|肉瘤|导管癌|小叶癌|乳头状癌|黑色素瘤|间皮瘤|胶质|白血病|骨髓瘤"
)
_HEDGES = re.compile(r"首先考虑|考虑为|考虑|疑似|可能性大|可能|待排除|待排|待查|待除外|不除外|倾向|[?？]")
_STAGING = re.compile(
    r"[cpyr]?T[0-4a-dis]*N[0-3a-c]*M[01a-c]*|[Ⅰ-ⅣIV]+[A-Ca-c]?期|[1-4][A-Ca-c]?期(?=$|[^\u4e00-\u9fff])|术后|根治术后|综合治疗后"
)


def clean_name(raw: str, *, tumour: bool, pathology: bool = False) -> str:
    """A diagnosis name as a form holds it: no codes, parentheticals or staging; a pathology
    conclusion also loses its grade and growth-pattern modifiers.

    ``（右肺上叶）浸润性腺癌`` -> ``右肺上叶腺癌``; ``乙状结肠腺癌（中分化，pT3N1bM0）C18.700x001``
    -> ``乙状结肠腺癌``; ``原发性肝癌（肝细胞癌，BCLC B期）`` -> ``肝细胞癌``.
    """
    s = raw.strip()
    # an abbreviation with its full name in brackets (DKD（2型糖尿病肾病，CKD G3b）): the full name
    full = re.match(r"^[A-Za-z][A-Za-z0-9+\-]{1,7}\s*[(（]([^()（），,、;；]*[\u4e00-\u9fff][^()（），,、;；]*)", s)
    if full:
        s = full.group(1)
    if tumour:
        specific = re.search(r"[(（]([^()（），,、;；]{2,14})", s)
        outer = s[: specific.start()] if specific else ""
        if (
            specific
            and specific.group(1) in lexicon().named_tumours
            and re.search(r"[\u4e00-\u9fff]", specific.group(1))
            and not _HISTOLOGY.search(outer)
        ):
            return specific.group(1)
    for c in find_codes(s):
        s = s.replace(c.raw, " ")
    s = re.sub(r"(ICD-?10|编码|疾病编码)[:：]?", " ", s)
    lead = re.match(r"^\s*[(（]([^()（）]{1,20})[)）]\s*", s)
    if lead:  # pathology style: （site）type; the site without the sampling details
        site = re.sub(
            r"[\d、，,～~\-]+\s*点(钟)?(方向|位)?|穿刺|活检|切除|标本|组织|送检|粗针|手术|镜下|区段", "", lead.group(1)
        )
        s = site + s[lead.end() :]
    # a bracket before a regimen or English word (DLBCL（ⅣB期）R-CHOP×2后) separates two words
    s = re.sub(r"[(（][^()（）]*[)）](?=[A-Za-z])", " ", s)
    s = re.sub(r"[(（][^()（）]*[)）]", "", s)
    s = re.sub(r"[(（【\[].*$", "", s)
    s = _HEDGES.sub("", s)
    if tumour and pathology:
        s = _MODIFIERS.sub("", s)
    if tumour:
        s = _STAGING.sub("", s)
    s = re.split(r"[，,；;。:：]| {2,}|\t|\u3000" + (r"| " if tumour else ""), s.strip())[0]
    return s.strip(" -—、?？")


def name_code(name: str, kind: str) -> str | None:
    """The WHO code a diagnosis name means."""
    if kind == "malignant":
        return tumour_code(name)
    if kind == "in_situ":
        from agent.extract.lexicon import code_for_site

        return code_for_site(name, lexicon().in_situ_sites) or "D09.9"
    if kind == "benign":
        from agent.extract.lexicon import code_for_site

        return code_for_site(name, lexicon().benign_sites)
    return disease_code(name)
