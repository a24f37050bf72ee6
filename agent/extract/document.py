"""One record, read: its kind (病理报告, 出院小结 …), its own date, its sections, and clause
boundaries. Everything keeps offsets into the original text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property

from agent.core.models import Document, Span
from agent.core.text import fold, halfwidth
from agent.extract.dates import DateMention, find_dates

# Document kinds, most specific first; matched against the document's heading lines.
# fmt: off
KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        "cytology",
        (
            "骨髓细胞", "骨髓象", "细胞形态学", "流式细胞", "免疫分型", "细胞学", "脱落细胞",
            "细针穿刺", "液基细胞", "胸水细胞", "腹水细胞", "细胞病理", "FNA",
        ),
    ),
    (
        "pathology",
        ("病理报告", "病理诊断报告", "病理检查报告", "病理学诊断", "组织病理", "病理科", "冰冻切片", "病理会诊"),
    ),
    ("dialysis", ("透析记录", "血液净化", "腹透随访", "腹膜透析随访", "腹膜透析记录", "透析治疗记录", "透析单")),
    ("operation", ("手术记录", "手术报告")),
    ("certificate", ("诊断证明", "疾病证明", "病情证明", "疾病诊断证明")),
    ("discharge", ("出院小结", "出院记录", "出院证", "住院病历摘要", "出院摘要", "病案首页")),
    ("admission", ("入院记录", "住院记录", "首次病程")),
    ("prescription", ("处方笺", "处方单", "电子处方", "门诊处方", "处方")),
    (
        "imaging",
        (
            "CT", "MRI", "磁共振", "PET", "超声", "彩超", "B超", "X线",
            "影像", "放射科", "心动图", "眼底照相", "造影", "DR检查", "钼靶",
        ),
    ),
    ("lab", ("检验报告", "检验单", "化验", "检验科", "生化", "血常规", "检验结果", "检测报告")),
    ("consult", ("会诊记录", "会诊意见")),
    ("outpatient", ("门诊病历", "门诊记录", "复诊记录", "门诊", "随访记录", "病程记录", "就诊记录")),
]
# fmt: on
KIND_LABEL = {
    "cytology": "细胞学报告",
    "pathology": "病理报告",
    "dialysis": "透析记录",
    "operation": "手术记录",
    "certificate": "诊断证明书",
    "discharge": "出院小结",
    "admission": "入院记录",
    "prescription": "处方",
    "imaging": "影像报告",
    "lab": "检验报告",
    "consult": "会诊记录",
    "outpatient": "门诊病历",
    "other": "其他文书",
}

# Which labelled date is a document's own date, by kind (the first label found wins).
# fmt: off
_DATE_LABELS: dict[str, tuple[str, ...]] = {
    "pathology": ("报告日期", "报告时间", "签发日期", "诊断日期", "发报告日期", "审核日期", "报告发出日期"),
    "cytology": ("报告日期", "报告时间", "签发日期", "诊断日期", "审核日期"),
    "imaging": ("报告日期", "报告时间", "检查日期", "检查时间"),
    "lab": ("报告时间", "报告日期", "审核时间", "审核日期", "检验日期", "检测日期"),
    "discharge": ("出院日期", "出院时间", "记录日期", "小结日期"),
    "certificate": ("开具日期", "出具日期", "证明日期", "诊断日期", "日期"),
    "outpatient": (
        "就诊日期", "就诊时间", "门诊日期", "复诊日期", "随访日期",
        "随访时间", "复诊时间", "门诊时间", "日期",
    ),
    "prescription": ("开具日期", "处方日期", "开方日期", "日期"),
    "dialysis": ("透析日期", "治疗日期", "随访日期", "随访时间", "透析时间", "记录日期", "日期"),
    "operation": ("手术日期", "手术时间", "记录日期"),
    "admission": ("记录日期", "入院日期"),
}
_NOT_OWN_DATE = (
    "移植", "手术", "发病", "确诊", "诊断", "开始", "首次", "送检", "收到", "接收", "打印",
    "复印", "采集", "采样", "入院", "出生", "登记", "申请", "取材", "签收", "收样", "检查日期",
)
# fmt: on

# Section headings -> canonical section; matched at line start, spaced forms too (病 理 诊 断).
SECTION_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("family", ("家族史",)),
    ("past", ("既往史", "既往病史", "过敏史", "个人史", "婚育史", "月经史", "手术史")),
    ("hpi", ("现病史", "病史摘要", "简要病史", "病史", "主诉", "入院情况")),
    ("path_dx", ("病理诊断", "病理学诊断", "诊断意见", "细胞学诊断", "病理结论")),
    ("clinical_dx", ("临床诊断", "送检诊断", "临床印象")),
    (
        "dx",
        (
            "Discharge diagnosis",
            "Final diagnosis",
            "Diagnoses",
            "Diagnosis",
            "Impression",
            "出院诊断",
            "最后诊断",
            "修正诊断",
            "术后诊断",
            "门诊诊断",
            "初步诊断",
            "入院诊断",
            "诊断结果",
            "诊断",
            "印象",
            "影像诊断",
            "检查结论",
            "超声提示",
            "结论",
            "意见",
            "提示",
            "术前诊断",
        ),
    ),
    (
        "findings",
        (
            "辅助检查",
            "检查所见",
            "影像所见",
            "镜下所见",
            "肉眼所见",
            "大体所见",
            "大体描述",
            "光镜所见",
            "免疫组化",
            "检查结果",
            "分子检测",
            "基因检测",
            "检查及化验",
            "实验室检查",
            "化验结果",
        ),
    ),
    (
        "course",
        (
            "诊疗经过",
            "住院经过",
            "治疗经过",
            "住院诊疗经过",
            "出院情况",
            "病程",
            "手术经过",
            "手术过程",
            "透析过程",
            "治疗过程记录",
        ),
    ),
    ("exam", ("查体", "体格检查", "专科检查")),
    (
        "plan",
        (
            "Treatment plan",
            "Plan",
            "处理意见",
            "处理",
            "诊疗计划",
            "治疗计划",
            "出院医嘱",
            "医嘱",
            "建议",
            "治疗方案",
            "处方",
            "Rp",
            "用药",
            "出院带药",
            "治疗意见",
            "诊疗意见",
            "治疗建议",
            "透后用药",
            "下一步计划",
            "计划",
        ),
    ),
]
DX_SECTIONS = ("dx", "path_dx")
HISTORY_SECTIONS = ("family", "past", "hpi")
_SENTENCE_END = "。；;!！"
_CLAUSE_END = re.compile(r"[。；;！!\n]")
_COMMA = re.compile(r"[，,、。；;！!\n]")
_COMMA_NO_ENUM = re.compile(r"[，,。；;！!\n]")


@dataclass
class Section:
    """A section: its canonical name, heading text and content span."""

    name: str
    heading: str
    start: int
    end: int


def _heading_regex() -> re.Pattern[str]:
    alts = []
    for _, words in SECTION_WORDS:
        for w in words:
            alts.append(r"[ \t]*".join(re.escape(c) for c in w))
    alts.sort(key=len, reverse=True)
    return re.compile(
        r"^[ \t\u3000]*(?:[#>*\-•·]+[ \t]*)?(?:[【\[]?)(?:[0-9一二三四五六七八九十]+[、.．)）][ \t]*)?[*]*[【\[]?("
        + "|".join(alts)
        + r")[】\]]?(?:[（(][^）)\n]{0,12}[）)])?[*]*[ \t]*(?:[:：]|\n|$|(?=[ \t]{2,}))",
        re.M | re.I,
    )


_HEADING = _heading_regex()
_PREFIXED_HEADING = re.compile(
    r"^[ \t\u3000]*[\u4e00-\u9fff]{1,4}?(病理诊断|诊断意见|诊断|结论|印象)[ \t]*[:：][ \t\u3000]*$", re.M
)
_WORD_TO_SECTION = {fold(w).lower(): name for name, words in SECTION_WORDS for w in words}


def _canonical(word: str) -> str:
    """The heading as the section table spells it (English headings in any case)."""
    return word.lower() if word.isascii() else word


@dataclass
class DocView:
    """A record with its derived structure."""

    doc: Document
    injection_spans: list[tuple[int, int]] = field(default_factory=list)
    # per-record memo of derived indexes (the assertion engine's triggers), never compared
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def text(self) -> str:
        return self.doc.text

    @cached_property
    def half(self) -> str:
        """Half-width copy of the text (same length) for matching."""
        return halfwidth(self.doc.text)

    @cached_property
    def kind(self) -> str:
        """Document kind from its heading lines, JSON title and file name."""
        head_lines = [fold(ln) for ln in self.half.splitlines() if ln.strip()][:4]
        candidates = [*head_lines, fold(halfwidth(self.doc.title or "")), fold(self.doc.name.split("/")[-1])]
        for line in candidates:
            for kind, words in KIND_WORDS:
                if any(w in line for w in words):
                    # cytology is reported by the 病理科 too: the title lines decide
                    if kind == "pathology" and any(w in ln for ln in candidates[:4] for w in KIND_WORDS[0][1]):
                        return "cytology"
                    return kind
        return "other"

    @cached_property
    def sections(self) -> list[Section]:
        """Sections in order; text before the first heading is the 'header' section."""
        marks = [(m.start(), m.end(), _canonical(fold(m.group(1)))) for m in _HEADING.finditer(self.half)]
        taken = {s for s, _, _ in marks}
        for m in _PREFIXED_HEADING.finditer(self.half):  # 镜检及病理诊断： alone on its line
            if m.start() not in taken:
                marks.append((m.start(), m.end(), _canonical(fold(m.group(1)))))
        marks.sort()
        out: list[Section] = []
        first = marks[0][0] if marks else len(self.text)
        out.append(Section("header", "", 0, first))
        for i, (_s, e, word) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(self.text)
            name = _WORD_TO_SECTION.get(word, "other")
            if name == "clinical_dx":  # a report's 临床诊断 is one header field, not a section
                line_end = self.half.find("\n", e)
                end = min(end, line_end if line_end >= 0 else end)
            out.append(Section(name, word, e, end))
        return out

    def section_at(self, offset: int) -> Section:
        """The section holding ``offset`` (a heading's own words belong to its section)."""
        found = self.sections[0]
        for sec in self.sections:
            if offset >= sec.start - len(sec.heading) - 2:
                found = sec
        return found

    @cached_property
    def date_mention(self) -> DateMention | None:
        """The document's own date (报告日期/出院日期/就诊日期 …), never a 送检/打印 date."""
        labels = (*_DATE_LABELS.get(self.kind, ()), "报告日期", "报告时间", "日期")
        for label in labels:
            pat = r"[ \t]*".join(re.escape(c) for c in label)
            for m in re.finditer(pat + r"[ \t*]*[:：]?[ \t*]*", self.half):
                before = self.half[max(0, m.start() - 4) : m.start()]
                # a generic label (日期) after another event's name is that event's date (移植日期)
                checked = before + label if label in ("日期", "时间", "报告日期", "报告时间") else before
                if any(x in checked for x in _NOT_OWN_DATE):
                    continue
                found = find_dates(self.half[m.end() : m.end() + 30])
                if found and found[0].start <= 2:
                    d = found[0]
                    return DateMention(d.date, m.end() + d.start, m.end() + d.end)
        if self.doc.declared_date:
            found = find_dates(self.doc.declared_date)
            if found:
                return DateMention(found[0].date, -1, -1)
        return self._fallback_date()

    def _fallback_date(self) -> DateMention | None:
        """Last resort: a date in the heading lines, else the last date in the text, skipping
        dates labelled as someone else's (送检, 打印 …)."""
        dates = [d for d in find_dates(self.half) if not self._labelled_other(d)]
        if not dates:
            return None
        head_end = sum(len(ln) + 1 for ln in self.text.splitlines()[:6])
        head = [d for d in dates if d.start < head_end]
        return head[0] if head else dates[-1]

    def _labelled_other(self, d: DateMention) -> bool:
        before = self.half[max(0, d.start - 8) : d.start]
        return any(x in before for x in _NOT_OWN_DATE)

    @property
    def date(self) -> dt.date | None:
        """The document's own date."""
        return self.date_mention.date if self.date_mention else None

    def date_span(self) -> Span | None:
        """Evidence span of the document date, when it stands in the text."""
        m = self.date_mention
        if m is None or m.start < 0:
            return None
        return self.span(m.start, m.end)

    def span(self, start: int, end: int) -> Span:
        """Evidence span; the quote is exactly the text at [start, end)."""
        start, end = max(0, start), min(len(self.text), end)
        return Span(document=self.doc.name, quote=self.text[start:end], start=start, end=end)

    def line_bounds(self, offset: int) -> tuple[int, int]:
        """Start and end of the line holding ``offset``."""
        s = self.text.rfind("\n", 0, offset) + 1
        e = self.text.find("\n", offset)
        return s, (len(self.text) if e < 0 else e)

    def clause_bounds(self, start: int, end: int, *, commas: bool = False, enumeration: bool = True) -> tuple[int, int]:
        """The clause (between 。；\\n, or also commas, and 、 unless ``enumeration`` is off)."""
        pat = (_COMMA if enumeration else _COMMA_NO_ENUM) if commas else _CLAUSE_END
        s = 0
        for m in pat.finditer(self.half, 0, start):
            s = m.end()
        m2 = pat.search(self.half, end)
        e = m2.start() if m2 else len(self.text)
        return s, e

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        """The sentence around [start, end) across wrapped lines: 。；! or a blank line end it."""
        s = max(max(self.half.rfind(ch, 0, start) for ch in _SENTENCE_END), self.half.rfind("\n\n", 0, start)) + 1
        ends = [i for i in (self.half.find(ch, end) for ch in _SENTENCE_END) if i >= 0]
        return s, (min(ends) if ends else len(self.half))

    def line_span(self, offset: int) -> Span:
        """The whole line at ``offset``, stripped, as a span."""
        s, e = self.line_bounds(offset)
        while s < e and self.text[s] in " \t\u3000":
            s += 1
        while e > s and self.text[e - 1] in " \t\u3000\r":
            e -= 1
        return self.span(s, e)

    def in_injection(self, offset: int) -> bool:
        """Whether ``offset`` lies in text flagged as an instruction (never used as evidence)."""
        return any(s <= offset < e for s, e in self.injection_spans)
