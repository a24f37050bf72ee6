"""Decode text files the way hospitals export them: UTF-8 (with or without BOM), GB18030/GBK, UTF-16."""

from __future__ import annotations

import codecs

from agent.core.errors import DocumentError
from agent.core.i18n import _

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(raw: bytes, name: str) -> tuple[str, str]:
    """Return ``(text, encoding)``. Raises DocumentError for empty, binary or undecodable content.

    Strict decoders are tried in order (UTF-8, then GB18030, a superset of GBK/GB2312) because a
    wrong guess silently corrupts evidence quotes; charset-normalizer is only a last resort.
    """
    if not raw.strip():
        raise DocumentError(name, _("empty file"), _("Export the document again; the file has no text."))
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError:
                break
    if b"\x00" in raw[:4096]:
        raise DocumentError(name, _("binary file, not text"), _("Export the record as text, PDF or JSON."))
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    raise DocumentError(name, _("unknown text encoding"), _("Save the file as UTF-8 or GB18030."))
