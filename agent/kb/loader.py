"""Read policy documents (.md/.txt/.pdf/.docx) and split them into clauses (第X条)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.core.errors import DocumentError
from agent.core.i18n import _
from agent.core.models import Clause
from agent.kb.topics import TOPICS, infer_topics
from agent.records.docx import read_docx
from agent.records.textio import decode_bytes

SUPPORTED = (".md", ".txt", ".pdf", ".docx")
META_SUFFIX = ".meta.yaml"
_NUM = "一二三四五六七八九十百零〇两"
_ARTICLE = re.compile(rf"^[ \t\u3000#>*]*(第[{_NUM}0-9]+条)[*]*[ \t\u3000]*", re.M)
_CHAPTER = re.compile(rf"^[ \t\u3000#*]*(第[{_NUM}0-9]+章)[ \t\u3000]*([^\n*]*)", re.M)
_ITEM = re.compile(rf"^[ \t\u3000#*]*([{_NUM}]+)、", re.M)
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass
class PolicyDoc:
    """One policy file, split into clauses."""

    path: str
    doc_id: str
    title: str
    sha256: str
    clauses: list[Clause] = field(default_factory=list)


@dataclass
class Skipped:
    """A file the knowledge base could not use, and why."""

    path: str
    reason: str
    hint: str | None = None


def file_sha256(path: Path) -> str:
    """Content hash of a policy file and its sidecar metadata, if any."""
    h = hashlib.sha256(path.read_bytes())
    meta = path.with_name(path.name + META_SUFFIX)
    if meta.exists():
        h.update(meta.read_bytes())
    return h.hexdigest()


def policy_files(folder: Path) -> list[Path]:
    """Policy files under ``folder`` (recursively), sorted; sidecars and hidden files excluded."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and not p.name.endswith(META_SUFFIX)
    )


def load_policy(path: Path, root: Path) -> PolicyDoc:
    """Parse one policy file into clauses. Raises DocumentError when it cannot be used."""
    rel = path.relative_to(root).as_posix()
    if path.suffix.lower() not in SUPPORTED:
        raise DocumentError(
            rel, _("unsupported file type '{type}'", type=path.suffix), _("Use .md, .txt, .pdf or .docx.")
        )
    if path.stat().st_size == 0:
        raise DocumentError(rel, _("empty file"), _("Remove it or put the policy text in it."))
    meta: dict[str, Any] = {}
    sidecar = path.with_name(path.name + META_SUFFIX)
    if sidecar.exists():
        meta = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    page_starts: list[int] = []
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from agent.records.pdf import read_pdf

        pdf = read_pdf(path, rel)
        text, page_starts = pdf.text, pdf.page_starts
    elif suffix == ".docx":
        text = read_docx(path, rel)
    else:
        text, _encoding = decode_bytes(path.read_bytes(), rel)
        m = _FRONT.match(text)
        if m:
            meta = {**(yaml.safe_load(m.group(1)) or {}), **meta}
            text = text[m.end() :]
    if not text.strip():
        raise DocumentError(rel, _("empty file"), _("Remove it or put the policy text in it."))
    doc_id = str(meta.get("doc_id") or re.sub(r"[^\w.-]+", "-", path.stem))
    title = str(meta.get("title") or _first_line(text) or doc_id)
    clauses = split_clauses(text, doc_id=doc_id, title=title, meta=meta, page_starts=page_starts)
    if not clauses:
        raise DocumentError(
            rel,
            _("no articles found (第X条 or 一、 items)"),
            _("Number the articles, or set 'split: paragraphs' in its front matter / .meta.yaml."),
        )
    return PolicyDoc(path=rel, doc_id=doc_id, title=title, sha256=file_sha256(path), clauses=clauses)


def split_clauses(
    text: str, *, doc_id: str, title: str, meta: dict[str, Any], page_starts: list[int] | None = None
) -> list[Clause]:
    """Split by 第X条; else by 一、 items; else by paragraph when the metadata asks for it."""
    marks = [(m.start(), m.end(), m.group(1)) for m in _ARTICLE.finditer(text)]
    if not marks:
        marks = [(m.start(), m.end(), f"{m.group(1)}、") for m in _ITEM.finditer(text)]
    if not marks and meta.get("split") == "paragraphs":
        paras = [m for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text) if len(m.group().strip()) > 10]
        marks = [(m.start(), m.start(), f"第{i + 1}段") for i, m in enumerate(paras)]
    chapters = [(m.start(), f"{m.group(1)}　{m.group(2).strip()}".strip()) for m in _CHAPTER.finditer(text)]
    tags: dict[str, Any] = meta.get("topics") or {}
    clauses: list[Clause] = []
    seen: dict[str, int] = {}
    for i, (start, body_start, article) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        # a chapter heading between two articles belongs to the next one
        next_chapter = [c for c, _end in chapters if body_start < c < end]
        if next_chapter:
            end = next_chapter[0]
        body = _clean(text[body_start:end])
        if not body:
            continue
        chapter = next((name for pos, name in reversed(chapters) if pos < start), None)
        explicit = tags.get(article)
        topics = [t for t in (explicit or []) if t in TOPICS] if explicit else infer_topics(body)
        key = article
        seen[key] = seen.get(key, 0) + 1
        clause_id = f"{doc_id}#{article}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        page = _page_of(page_starts, start) if page_starts else None
        clauses.append(
            Clause(
                clause_id=clause_id,
                doc_id=doc_id,
                title=title,
                article=article,
                chapter=chapter,
                page=page,
                topics=topics,
                text=f"{article}　{body}" if not article.startswith("第") or "段" not in article else body,
            )
        )
    return clauses


def _clean(s: str) -> str:
    s = re.sub(r"\*\*|__|^#+\s*", "", s, flags=re.M)
    s = re.sub(r"[ \t\u3000]*\n[ \t\u3000]*", "\n", s)
    return s.strip()


def _first_line(text: str) -> str:
    for ln in text.splitlines():
        ln = ln.strip().lstrip("#").strip()
        if ln:
            return ln
    return ""


def _page_of(starts: list[int], offset: int) -> int:
    page = 1
    for i, s in enumerate(starts):
        if offset >= s:
            page = i + 1
    return page
