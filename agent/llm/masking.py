"""Personal identifiers replaced with stable placeholders before any model request, and put
back in the answer. On by default, whatever the endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_LABELLED = {
    "姓名": re.compile(r"(?:姓\s*名|患者姓名|联系人|家属|代办人|监护人)[\s*]*[:：][\s*]*([\u4e00-\u9fa5·]{2,5})"),
    "地址": re.compile(r"(?:住址|地址|现住址|户籍地址|家庭住址|联系地址)[\s*]*[:：][\s*]*([^\s，,。；;]{4,40})"),
    "医保号": re.compile(
        r"(?:医保号|医保卡号|社保卡号|社会保障卡号|个人电脑号|医保编号|参保号|个人编号)[\s*]*[:：][\s*]*([0-9A-Za-z]{6,30})"
    ),
    "电话": re.compile(r"(?:电话|手机|联系电话|联系方式)[\s*]*[:：][\s*]*([0-9\-]{7,16})"),
}


@dataclass
class Masker:
    """One case's mapping between identifiers and placeholders (〔姓名1〕, 〔身份证1〕 …)."""

    known: dict[str, str] = field(default_factory=dict)  # value -> placeholder
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> str:
        """The placeholder for ``value`` (the same value always gets the same one)."""
        value = value.strip()
        if not value:
            return value
        if value not in self.known:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            self.known[value] = f"〔{kind}{self.counters[kind]}〕"
        return self.known[value]

    def learn(self, applicant: Any) -> None:
        """Register the applicant's own identifiers first (name, ID number)."""
        self.add("姓名", applicant.name)
        self.add("身份证", applicant.id_number)

    def mask(self, text: str) -> str:
        """``text`` with every identifier found or already known replaced."""
        for kind, rx in _LABELLED.items():
            for m in rx.finditer(text):
                self.add(kind, m.group(1))
        for m in _ID.finditer(text):
            self.add("身份证", m.group())
        for m in _PHONE.finditer(text):
            self.add("电话", m.group())
        # longest first, so a name inside an address is not replaced half-way
        for value in sorted(self.known, key=len, reverse=True):
            text = text.replace(value, self.known[value])
        return text

    def unmask(self, obj: Any) -> Any:
        """Placeholders in an answer (strings, lists, dicts) put back."""
        if isinstance(obj, str):
            for value, ph in self.known.items():
                obj = obj.replace(ph, value)
            return obj
        if isinstance(obj, list):
            return [self.unmask(x) for x in obj]
        if isinstance(obj, dict):
            return {k: self.unmask(v) for k, v in obj.items()}
        return obj


class NoMasker(Masker):
    """Masking off (CERTREVIEW_LLM_MASK=0, for a trusted local server)."""

    def mask(self, text: str) -> str:
        return text

    def unmask(self, obj: Any) -> Any:
        return obj
