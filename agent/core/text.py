"""Length-preserving normalisation: full-width ASCII to half-width, so that one regex matches
``Ｃ３４．１`` and ``C34.1`` while offsets still point into the original text."""

from __future__ import annotations

import re

_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_TABLE[0x3000] = 0x20  # ideographic space
_TABLE[0x2212] = ord("-")
_TABLE[0x00A0] = 0x20


def halfwidth(text: str) -> str:
    """Same length as ``text``; full-width letters, digits and punctuation made ASCII."""
    return text.translate(_TABLE)


def spaced(word: str) -> str:
    """A regex matching ``word`` with optional spaces between its characters (``病 理 诊 断``)."""
    return r"[ \t]*".join(re.escape(ch) for ch in word)


def fold(text: str) -> str:
    """Whitespace removed (how quotes are compared)."""
    return re.sub(r"\s+", "", text)
