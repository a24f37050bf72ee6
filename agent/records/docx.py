"""Text of a Word (.docx) document, paragraph by paragraph."""

from __future__ import annotations

from pathlib import Path

from agent.core.errors import DocumentError
from agent.core.i18n import _


def read_docx(path: Path, rel: str) -> str:
    """The paragraphs of ``path`` joined by newlines; a named DocumentError when it cannot be read."""
    try:
        import docx
    except ImportError:  # optional dependency
        raise DocumentError(rel, _("reading .docx needs python-docx"), _("pip install python-docx")) from None
    try:
        d = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile/KeyError/ValueError on bad files
        raise DocumentError(
            rel, _("corrupt .docx ({error})", error=type(exc).__name__), _("Re-save the document.")
        ) from None
    return "\n".join(p.text for p in d.paragraphs)
