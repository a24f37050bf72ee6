"""Treatments named in a record — drugs (generic or brand), regimens and therapy words — with
the modality each one means. The modality follows the drug."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.extract.assertion import AFFIRMED, Assertion, Trigger, assert_mention
from agent.extract.document import DocView
from agent.extract.lexicon import lexicon

_NEG = re.compile(
    r"(是否|询问|咨询|不用|不联合|不予|不再|不做|不采用|不推荐|不愿|不同意|不接受|未再|未行|未予|未做|未接受|未用|未使用|未服用|拒绝|拒行|暂不|暂缓|无需|不需|不宜|不能耐受|不适合|不考虑|不建议|放弃|禁忌|无法耐受|否认|未曾|"
    r"不行|未|无)[^，,。；;\n]{0,8}$"
)
# "建议服用二甲双胍，患者…拒绝用药": a recommendation refused later in the same sentence
_BARE_NOT = re.compile(r"不.?$")  # （不化疗、不用利妥昔单抗）
_REFUSED_AFTER = re.compile(
    r"(拒绝|拒用|不愿|不同意|不接受)[^，,。；;]{0,6}(用药|服药|治疗|使用|服用|注射|药物|胰岛素|该药|此药|化疗|放疗)"
)
# a drug named where the record explains requirements or paperwork is not a treatment
_NOT_A_TREATMENT = re.compile(r"(告知|需含|须含|需要含|要求|标准需|认定标准)[^。；;]{0,20}$")
_NEG_AFTER = re.compile(r"^[^，,。；;\n]{0,4}(禁忌|不耐受)|^[^，,。；;\n]{0,16}(不推荐|不建议|不需要|暂不考虑|不适用)")
KIND_LAB = "检验报告"
_LAB_CONTEXT = re.compile(r"^[^，,。；;\n]{0,2}(浓度|谷浓度|血药|检测|测定|抵抗|释放|水平|抗体|敏感)")


@dataclass
class TreatmentMention:
    """A treatment named in a record."""

    view: DocView
    start: int
    end: int
    modalities: tuple[str, ...]
    term: str
    section: str
    negated: bool
    family: bool
    assertion: Assertion = AFFIRMED  # category and the trigger that set it

    @property
    def counts(self) -> bool:
        """Named as given, prescribed or planned for the applicant: not refused, conditional,
        continued without this record prescribing it, or someone else's."""
        return self.assertion.category == "affirmed" and not self.view.in_injection(self.start)


def _negation(view: DocView, s: int, e: int) -> Assertion | None:
    """A refusal, an unused or not-recommended drug, a drug level: the trigger that says so."""
    sent_s, sent_e = view.sentence_bounds(s, e)
    lo = max(sent_s, s - 40)
    before_raw = view.half[lo:s]
    # the sentence before the term, across wrapped lines (拒绝任何\n降糖药物)
    before = re.sub(r"\s+", "", before_raw)
    after_sentence = re.sub(r"\s+", "", view.half[e:sent_e])
    after = re.sub(r"\s+", "", view.half[e : e + 30])
    hits = [(rx.search(before), True) for rx in (_NEG, _BARE_NOT, _NOT_A_TREATMENT)]
    hits += [(_NEG_AFTER.match(after), False), (_REFUSED_AFTER.search(after_sentence), False)]
    if view.kind == "lab":
        return Assertion("negated", Trigger(KIND_LAB, -1, -1))
    lab = _LAB_CONTEXT.match(after)
    if lab:  # a blood level of an anti-rejection drug is a lab test, not a prescription
        hits.insert(0, (lab, False))
    for m, is_before in hits:
        if m is None:
            continue
        word = next((g for g in m.groups() if g), m.group())
        base, raw = (before_raw, lo) if is_before else (view.half[e:sent_e], e)
        at = base.find(word)
        if at < 0:  # the words were wrapped over a line break
            return Assertion("negated", Trigger(word, -1, -1))
        return Assertion("negated", Trigger(view.text[raw + at : raw + at + len(word)], raw + at, raw + at + len(word)))
    return None


def treatment_mentions(view: DocView) -> list[TreatmentMention]:
    """Every drug, regimen and therapy word in the document with its modality."""
    lx = lexicon()
    out: list[TreatmentMention] = []
    taken: list[tuple[int, int]] = []

    def add(s: int, e: int, mods: tuple[str, ...], term: str) -> None:
        if any(a <= s < b or a < e <= b for a, b in taken):
            return
        taken.append((s, e))
        a = _negation(view, s, e) or assert_mention(view, s, e, "treatment")
        neg, other = a.category == "negated", a.category == "other_person"
        out.append(TreatmentMention(view, s, e, mods, term, view.section_at(s).name, neg, other, a))

    for m in lx.drug_re.finditer(view.half):
        term = view.half[m.start() : m.end()]
        add(m.start(), m.end(), (lx.drug_modality[term],), term)
    for m in lx.regimen_re.finditer(view.half):
        term = m.group(1)
        # short regimen names (TC, AC, EP…) only next to 方案/化疗/周期
        ctx = view.half[max(0, m.start() - 6) : m.end() + 8]
        if len(term) <= 3 and not re.search(r"方案|化疗|周期|疗程|cycle|C\d", ctx):
            continue
        add(m.start(), m.end(), tuple(lx.regimen_modalities[term]), term)
    for m in lx.word_re.finditer(view.half):
        term = view.half[m.start() : m.end()]
        if re.match(r"^(科|中心|病区|病房|室|门诊)", view.half[m.end() : m.end() + 2]):
            continue  # a department's name, not a treatment
        add(m.start(), m.end(), tuple(lx.word_modalities[term]), term)
    # radiotherapy dose written as 60Gy/30f
    for m in re.finditer(r"\d+(\.\d+)?\s*Gy\s*/\s*\d+\s*[fF次]", view.half):
        add(m.start(), m.end(), ("radiotherapy",), m.group())
    return sorted(out, key=lambda t: t.start)
