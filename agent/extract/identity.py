"""Whom each record is about: the patient line's name, ID number, sex and age."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from agent.core.models import Applicant, Span
from agent.extract.assertion.blocks import foreign_blocks
from agent.extract.document import DocView

_NAME = re.compile(
    r"(?<![联系人家属代办监护医师生护士者签审核报告检验送申请录入])姓[ \t]*名[ \t*]*[:：]?[ \t*]*"
    r"([\u4e00-\u9fa5][\u4e00-\u9fa5·•*＊XＸ某]{1,4})"
)
_ID = re.compile(
    r"(?:身份证号码|身份证号|身份证|证件号码|证件号|公民身份号码|ID号)[ \t*]*[:：]?[ \t*]*"
    r"([0-9]{17}[0-9Xx]|[0-9]{6}[*＊]{4,8}[0-9Xx*]{2,6})"
)
NAME_RE = _NAME
_AGE = re.compile(r"年[ \t]*龄[ \t*]*[:：]?[ \t*]*(\d{1,3})[ \t]*岁")
_SEX = re.compile(r"性[ \t]*别[ \t*]*[:：]?[ \t*]*([男女])")


@dataclass
class Identity:
    """Who a document names as its patient."""

    name: str | None = None
    name_span: Span | None = None
    id_number: str | None = None
    id_span: Span | None = None
    age: int | None = None
    age_span: Span | None = None
    sex: str | None = None
    problems: list[tuple[str, list[Span]]] = field(default_factory=list)
    # problems from another person's text pasted into the record (the rest of it is the patient's)
    pasted: list[tuple[str, list[Span]]] = field(default_factory=list)

    @property
    def own_problems(self) -> list[tuple[str, list[Span]]]:
        """Problems with whom the record itself is about (not a pasted block)."""
        return [p for p in self.problems if p not in self.pasted]


def _names_match(record: str, applicant: str) -> bool:
    """Equal, or equal where the record masks characters (张**, 张某某, 张XX)."""
    record = record.replace("＊", "*").replace("Ｘ", "X")
    if record == applicant:
        return True
    if any(ch in record for ch in "*X某"):
        return len(record) >= 1 and record[0] == applicant[0]
    return False


def document_identity(view: DocView, applicant: Applicant) -> Identity:
    """The patient identity in ``view`` and how it differs from the applicant's."""
    ident = Identity()
    text = view.half
    m = _NAME.search(text)
    if m:
        name = m.group(1).rstrip("性年")
        ident.name, ident.name_span = name, view.span(m.start(1), m.start(1) + len(name))
    m = _ID.search(text)
    if m:
        ident.id_number, ident.id_span = m.group(1).upper(), view.span(m.start(1), m.end(1))
    m = _AGE.search(text)
    if m:
        ident.age, ident.age_span = int(m.group(1)), view.span(m.start(), m.end())
    m = _SEX.search(text)
    if m:
        ident.sex = m.group(1)
    if ident.name and not _names_match(ident.name, applicant.name):
        ident.problems.append((f"文书姓名“{ident.name}”与申请人不符", [ident.name_span] if ident.name_span else []))
    if ident.id_number and "*" not in ident.id_number and ident.id_number != applicant.id_number.upper():
        ident.problems.append(("文书身份证号与申请人不符", [ident.id_span] if ident.id_span else []))
    if ident.age is not None and applicant.birth_date and view.date:
        expected = _age_on(applicant.birth_date, view.date)
        if abs(expected - ident.age) > 1:
            ident.problems.append(
                (
                    f"文书年龄{ident.age}岁与申请人出生日期不符（应约{expected}岁）",
                    [ident.age_span] if ident.age_span else [],
                )
            )
    if ident.sex and applicant.sex and ident.sex != applicant.sex:
        ident.problems.append((f"文书性别“{ident.sex}”与申请人不符", []))
    for _s, _e, trig in foreign_blocks(view):
        if trig.text.startswith("姓"):  # a second patient line: another person's name
            other = NAME_RE.match(view.half, trig.start)
            who = other.group(1) if other else trig.text
            p = (f"文书中粘贴有他人（{who}）的内容", [view.span(trig.start, trig.end)])
            ident.problems.append(p)
            ident.pasted.append(p)
    return ident


def _age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
