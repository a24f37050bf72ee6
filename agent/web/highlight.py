"""Record text with the quotes a recommendation rests on marked at their offsets: a ``<mark>``
spans exactly ``text[start:end]`` of each quote that is found there. Every character of the
record is escaped: record text is data, never markup."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from markupsafe import Markup, escape

from agent.core.models import Recommendation, Span


@dataclass(frozen=True)
class Quote:
    """One distinct quote of a document, with where the page refers to it."""

    document: str
    start: int
    end: int
    quote: str
    kinds: tuple[str, ...]  # "check", "field", "flag": what cites it (a flag's quote is styled apart)
    found: bool  # text[start:end] == quote: only then is it marked

    @property
    def anchor(self) -> str:
        """The mark's element id (the document's crc32 and the offsets: unique and stable)."""
        return f"q-{zlib.crc32(self.document.encode('utf-8')):08x}-{self.start}-{self.end}"


def anchor(span: Span) -> str:
    """The element id of ``span``'s mark (as ``Quote.anchor``)."""
    return f"q-{zlib.crc32(span.document.encode('utf-8')):08x}-{span.start}-{span.end}"


def quotes_of(rec: Recommendation, texts: dict[str, str]) -> dict[str, list[Quote]]:
    """Distinct quotes per document (check evidence, form evidence, flag evidence), by offset."""
    kinds: dict[tuple[str, int, int, str], set[str]] = {}

    def add(spans: list[Span], kind: str) -> None:
        for s in spans:
            kinds.setdefault((s.document, s.start, s.end, s.quote), set()).add(kind)

    for c in rec.checks:
        add(c.evidence, "check")
    if rec.form:
        for f in rec.form.fields.values():
            add(f.evidence, "field")
    for spans in rec.flag_evidence.values():
        add(spans, "flag")
    out: dict[str, list[Quote]] = {}
    for (doc, start, end, quote), ks in kinds.items():
        text = texts.get(doc)
        found = text is not None and 0 <= start < end <= len(text) and text[start:end] == quote
        out.setdefault(doc, []).append(Quote(doc, start, end, quote, tuple(sorted(ks)), found))
    for qs in out.values():
        qs.sort(key=lambda q: (q.start, -q.end))
    return out


def marked(text: str, quotes: list[Quote]) -> Markup:
    """``text`` escaped, with a ``<mark id=…>`` around each found quote. Quotes nest when one lies
    inside another; one that crosses an open mark's end starts after it (marks cannot cross)."""
    parts: list[str] = []
    pos = 0
    open_ends: list[int] = []
    for q in (q for q in quotes if q.found):
        while open_ends and open_ends[-1] <= q.start:
            end = open_ends.pop()
            parts.append(str(escape(text[pos:end])) + "</mark>")
            pos = end
        if q.start < pos or (open_ends and q.end > open_ends[-1]):
            continue  # crosses a mark already open: its quote stays listed, unmarked
        parts.append(str(escape(text[pos : q.start])))
        cls = "flag" if "flag" in q.kinds else "ev"
        parts.append(f'<mark id="{q.anchor}" class="{cls}" data-quote-start="{q.start}" data-quote-end="{q.end}">')
        pos = q.start
        open_ends.append(q.end)
    while open_ends:
        end = open_ends.pop()
        parts.append(str(escape(text[pos:end])) + "</mark>")
        pos = end
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))
