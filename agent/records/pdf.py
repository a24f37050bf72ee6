"""Text out of PDFs with pypdf: clear errors for encrypted, corrupt and scanned files, page
headers/footers dropped, and CJK lines that pypdf broke mid-sentence joined again."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from agent.core.errors import DocumentError
from agent.core.i18n import _

_PAGE_NO = re.compile(
    r"^\s*(第\s*[0-9０-９]+\s*页\s*[/，,、]?\s*(共\s*[0-9０-９]+\s*页)?|[-—－]\s*[0-9]+\s*[-—－]|"
    r"[Pp]age\s*\d+(\s*of\s*\d+)?|\d+\s*/\s*\d+)\s*$"
)
_TERMINAL = tuple("。！？；：:;!?」』）)】")
_ITEM_START = re.compile(
    r"^\s*(第[一二三四五六七八九十百零〇0-9]+[条章节]|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.、．]|#)"
)
# a heading on its own line (出 院 诊 断, 诊断：) is never the tail of a wrapped sentence
_HEADING_LINE = re.compile(r"^\s*(?:(?:[\u4e00-\u9fff][ \t\u3000]+){2,}[\u4e00-\u9fff]|[\u4e00-\u9fff]{2,8}[:：])\s*$")
MIN_TEXT_CHARS = 20


@dataclass
class PdfText:
    """Extracted text with the character offset at which each page starts."""

    text: str
    page_starts: list[int]
    page_count: int


def read_pdf(path: Path, display_name: str | None = None) -> PdfText:
    """Extract the text layer of ``path``. Raises DocumentError with a reason a user can act on."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    name = display_name or path.name
    if path.stat().st_size == 0:
        raise DocumentError(name, _("empty file"), _("Export the document again; the file has no content."))
    try:
        reader = PdfReader(str(path))
    except (PdfReadError, ValueError, OSError, KeyError, TypeError):
        raise DocumentError(
            name, _("corrupt PDF (cannot be opened)"), _("Re-export or re-scan the document; it cannot be opened.")
        ) from None
    if reader.is_encrypted:
        try:
            opened = bool(reader.decrypt(""))
        except Exception:  # pypdf raises several types (missing crypto backend, bad key)
            opened = False
        if not opened:
            raise DocumentError(
                name, _("encrypted PDF (password protected)"), _("Ask the hospital for an unprotected copy.")
            )
    pages: list[list[str]] = []
    try:
        for page in reader.pages:
            pages.append((page.extract_text() or "").splitlines())
    except Exception:  # pypdf surfaces many low-level errors on damaged streams
        raise DocumentError(
            name, _("corrupt PDF (pages cannot be read)"), _("Re-export the document; its pages cannot be read.")
        ) from None
    cleaned = _drop_headers_footers(pages)
    text, starts = _join_pages(cleaned)
    if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS:
        raise DocumentError(
            name,
            _("no text layer (scanned image PDF)"),
            _("Provide a text PDF or a transcription; OCR is not done automatically."),
        )
    return PdfText(text=text, page_starts=starts, page_count=len(cleaned))


def _drop_headers_footers(pages: list[list[str]]) -> list[list[str]]:
    """Drop page-number lines, and later copies of lines repeated at the top or bottom of pages."""
    repeated: set[str] = set()
    if len(pages) > 1:
        edge: Counter[str] = Counter()
        for lines in pages:
            stripped = [ln.strip() for ln in lines if ln.strip()]
            for ln in set(stripped[:2] + stripped[-2:]):
                edge[ln] += 1
        repeated = {ln for ln, n in edge.items() if n >= 2}
    # a repeated header or footer is kept once, where it first appears: it names the document, and
    # whatever it says (an instruction to the reviewer included) must still be seen
    seen: set[str] = set()
    out: list[list[str]] = []
    for lines in pages:
        kept = []
        for ln in lines:
            key = ln.strip()
            if _PAGE_NO.match(ln) or (key in repeated and key in seen):
                continue
            seen.add(key)
            kept.append(ln)
        out.append(kept)
    return out


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uff01" <= ch <= "\uff5e" or "\u3001" <= ch <= "\u3002"


def _join_pages(pages: list[list[str]]) -> tuple[str, list[int]]:
    """Join wrapped lines (also across a page break) and return the text with page start offsets."""
    lines = [(i, ln.rstrip()) for i, page in enumerate(pages) for ln in page]
    width = max((len(ln) for _, ln in lines), default=0)
    out: list[tuple[int, str]] = []
    for page, cur in lines:
        if out and _wrapped(out[-1][1], cur, width):
            out[-1] = (out[-1][0], out[-1][1] + cur.lstrip())
        else:
            out.append((page, cur))
    text, starts = "", [0] * len(pages)
    seen: set[int] = set()
    for page, ln in out:
        if page not in seen:
            seen.add(page)
            starts[page] = len(text)
        text += ln + "\n"
    for i in range(len(pages)):  # a page whose lines were all joined into the previous one
        if i not in seen:
            starts[i] = starts[i - 1] if i else 0
    return text, starts


def _wrapped(prev: str, cur: str, width: int) -> bool:
    """True when ``prev`` was cut at the line width in the middle of a sentence."""
    return bool(
        prev
        and cur.strip()
        and len(prev) >= 0.8 * width
        and not prev.endswith(_TERMINAL)
        and _is_cjk(prev[-1])
        and _is_cjk(cur.lstrip()[0])
        and not _ITEM_START.match(cur)
        and not _HEADING_LINE.match(cur)
    )
