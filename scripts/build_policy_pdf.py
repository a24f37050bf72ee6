"""Typeset a plain-text policy source as a PDF for the knowledge base.

Policy offices publish notices as PDFs, so the reference knowledge base ships
one of its documents that way to exercise the PDF path of ``kb refresh``. This
script turns ``knowledge_base/sources/<DOC_ID>.txt`` into
``knowledge_base/policies/<DOC_ID>.pdf`` laid out like a printed 公文:

* A4, body in 三号 (16 pt), 22 lines a page, about 28 characters a line
  (GB/T 9704 proportions), title in 二号 (22 pt);
* reportlab's built-in CID font ``STSong-Light``, so no font file is needed
  and the text layer extracts as Unicode (pypdf, pdfminer);
* a running header (issuer, document number) and a ``第1页 共N页`` footer;
* lines wrapped by measured character width, keeping Latin/digit runs such as
  ``C34.100x001`` or ``707`` whole and never starting a line with closing
  punctuation (hung into the margin instead).

Layout of the source text: blocks are separated by blank lines. The first
block is the centred title block (issuer, title, document number). A last
block made only of short lines is the signature (issuer and date), set flush
right. Every other line is a paragraph with a two-character first-line indent,
except a salutation ending in ``：`` (``各有关单位：``), which is set flush left.

Title, issuer and document number for the PDF metadata and header come from
the sidecar ``<out>.pdf.meta.yaml`` when it exists, else from the title block.
The output is reproducible (reportlab's invariant mode: fixed dates and ids),
so unchanged sources give byte-identical PDFs and the KB hash stays stable.

Usage::

    .venv/bin/python scripts/build_policy_pdf.py knowledge_base/sources/REF-YD-2025.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

FONT = "STSong-Light"
BODY_SIZE = 16.0  # 三号
TITLE_SIZE = 22.0  # 二号
HEADER_SIZE = 10.5  # 五号
PAGE_W, PAGE_H = A4
MARGIN_LEFT = 28 * mm
MARGIN_TOP = 37 * mm
TEXT_W = 156 * mm
TEXT_H = 225 * mm
BODY_PITCH = TEXT_H / 22  # 22 lines a page
TITLE_PITCH = BODY_PITCH * 1.3
SIGNATURE_MAX_CHARS = 20  # lines of a signature block are short

# Characters that must not open a line (hung at the end of the previous one)
# and that must not close one (carried to the next line).
NO_LINE_START = frozenset("，。、；：？！）》」』”’〕】…,.;:!?)]%")
NO_LINE_END = frozenset("（《「『“‘〔【([")
# A run of Latin letters, digits and unit symbols is one unbreakable token;
# every other character is a token of its own.
_TOKEN = re.compile(r"[A-Za-z0-9μ][A-Za-z0-9.\-/%μ²³]*|.", re.S)
_DOC_NUMBER = re.compile(r"\S*〔\d{4}〕\d+号")

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Line:
    """One typeset line: its text, font size, alignment, x offset and advance."""

    text: str
    size: float
    align: Align
    indent: float
    pitch: float


@dataclass(frozen=True)
class DocInfo:
    """What the PDF metadata and running header say about the document."""

    title: str
    issuer: str
    doc_number: str


def width(text: str, size: float) -> float:
    """Width of ``text`` in points when set in ``FONT`` at ``size``."""
    return float(pdfmetrics.stringWidth(text, FONT, size))


def wrap(text: str, size: float, first_indent: float = 0.0, *, limit: float = TEXT_W) -> list[tuple[str, float]]:
    """Break ``text`` into ``(line, x_offset)`` pairs no wider than ``limit``.

    The first line is shifted by ``first_indent``. Latin/digit runs stay whole
    unless longer than half a line; closing punctuation is hung rather than
    starting a line, and an opening bracket is carried to the next line.
    """
    tokens: list[str] = []
    for tok in _TOKEN.findall(text):
        tokens.extend(list(tok) if width(tok, size) > limit / 2 else [tok])
    lines: list[tuple[str, float]] = []
    cur, cur_w, indent = "", 0.0, first_indent
    for tok in tokens:
        w = width(tok, size)
        if cur and cur_w + w > limit - indent:
            if tok in NO_LINE_START:  # hang it in the right margin
                cur += tok
                cur_w += w
                continue
            carry = ""
            while cur and cur[-1] in NO_LINE_END:
                carry, cur = cur[-1] + carry, cur[:-1]
            lines.append((cur, indent))
            cur, cur_w, indent = carry, width(carry, size), 0.0
        cur += tok
        cur_w += w
    if cur or not lines:
        lines.append((cur, indent))
    return lines


def centred(text: str, size: float) -> list[str]:
    """Wrap a centred title line into lines of balanced length (no short tail)."""
    n = len(wrap(text, size))
    if n == 1:
        return [text]
    balanced = wrap(text, size, limit=width(text, size) / n + 3 * size)
    return [t for t, _ in (balanced if len(balanced) == n else wrap(text, size))]


def split_blocks(source: str) -> list[list[str]]:
    """Split the source into blocks of non-empty lines separated by blank lines."""
    blocks: list[list[str]] = [[]]
    for raw in source.splitlines():
        line = raw.strip()
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def is_signature(block: list[str]) -> bool:
    """A closing block of short lines (issuer, date) is a signature."""
    return all(len(line) <= SIGNATURE_MAX_CHARS for line in block)


def layout(blocks: list[list[str]]) -> list[Line | None]:
    """Turn blocks into typeset lines; ``None`` marks a blank line."""
    out: list[Line | None] = []
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        if i == 0:
            for text in block:
                # issuer and title large, the 文号 line in body size
                size = BODY_SIZE if _DOC_NUMBER.search(text) else TITLE_SIZE
                pitch = TITLE_PITCH if size == TITLE_SIZE else BODY_PITCH
                out += [Line(t, size, "center", 0.0, pitch) for t in centred(text, size)]
            out.append(None)
        elif i == last and i > 0 and is_signature(block):
            out.append(None)
            out += [Line(t, BODY_SIZE, "right", 0.0, BODY_PITCH) for t in block]
        else:
            for text in block:
                indent = 0.0 if text.endswith("：") else 2 * BODY_SIZE
                out += [Line(t, BODY_SIZE, "left", x, BODY_PITCH) for t, x in wrap(text, BODY_SIZE, indent)]
    return out


def paginate(lines: list[Line | None]) -> list[list[tuple[Line, float]]]:
    """Place lines on pages; returns, per page, each line with its baseline y."""
    top = PAGE_H - MARGIN_TOP
    bottom = top - TEXT_H
    pages: list[list[tuple[Line, float]]] = [[]]
    y = top
    for line in lines:
        pitch = line.pitch if line else BODY_PITCH
        if y - pitch < bottom - 1e-6:
            pages.append([])
            y = top
            if line is None:  # no blank line at the top of a page
                continue
        y -= pitch
        if line is not None:
            pages[-1].append((line, y + pitch * 0.25))
    return [p for p in pages if p]


def doc_info(blocks: list[list[str]], meta_path: Path) -> DocInfo:
    """Title, issuer and 文号 from the sidecar if present, else from the title block."""
    head = blocks[0] if blocks else [""]
    number = next((m.group(0) for line in head if (m := _DOC_NUMBER.search(line))), "")
    title = next((line for line in head if "关于" in line), head[-1])
    info = {"title": title, "issuer": head[0], "doc_number": number}
    if meta_path.is_file():
        import yaml  # lazily: only needed when a sidecar exists

        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
        info.update({k: str(meta[k]) for k in info if meta.get(k)})
    return DocInfo(**info)


def draw(pages: list[list[tuple[Line, float]]], info: DocInfo, out: Path) -> None:
    """Write the pages to ``out`` with metadata, running header and page footer."""
    canvas = Canvas(str(out), pagesize=A4, invariant=True)
    canvas.setTitle(info.title)
    canvas.setAuthor(info.issuer)
    canvas.setSubject(info.doc_number)
    canvas.setCreator("certreview scripts/build_policy_pdf.py")
    right = MARGIN_LEFT + TEXT_W
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        canvas.setFont(FONT, HEADER_SIZE)
        header_y = PAGE_H - 20 * mm
        canvas.drawString(MARGIN_LEFT, header_y, info.issuer)
        canvas.drawRightString(right, header_y, info.doc_number)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_LEFT, header_y - 2 * mm, right, header_y - 2 * mm)
        for line, y in page:
            canvas.setFont(FONT, line.size)
            if line.align == "center":
                canvas.drawCentredString(MARGIN_LEFT + TEXT_W / 2, y, line.text)
            elif line.align == "right":
                canvas.drawRightString(right - 2 * BODY_SIZE, y, line.text)
            else:
                canvas.drawString(MARGIN_LEFT + line.indent, y, line.text)
        canvas.setFont(FONT, HEADER_SIZE)
        canvas.drawCentredString(PAGE_W / 2, 15 * mm, f"第{number}页 共{total}页")
        canvas.showPage()
    canvas.save()


def build(source: Path, out_dir: Path, *, title: str | None = None) -> Path:
    """Typeset ``source`` into ``out_dir/<stem>.pdf`` and return the PDF's path."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    blocks = split_blocks(source.read_text(encoding="utf-8"))
    if not blocks:
        raise ValueError(f"{source} is empty")
    out = out_dir / f"{source.stem}.pdf"
    info = doc_info(blocks, out.with_name(out.name + ".meta.yaml"))
    if title:
        info = DocInfo(title, info.issuer, info.doc_number)
    out_dir.mkdir(parents=True, exist_ok=True)
    draw(paginate(layout(blocks)), info, out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="sources/*.txt to typeset")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=root / "knowledge_base" / "policies",
        help="where the PDFs go (default: knowledge_base/policies)",
    )
    parser.add_argument("--title", help="PDF title metadata (default: sidecar or title block)")
    args = parser.parse_args(argv)
    for source in args.sources:
        try:
            out = build(source, args.out_dir, title=args.title)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: {source}: {exc}", file=sys.stderr)
            return 1
        print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
