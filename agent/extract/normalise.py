"""A normalised copy of a record's text for matching what someone may try to disguise: NFKC,
traditional → simplified (OpenCC), invisible characters stripped, look-alike letters made Latin,
spacing inside Chinese words and spelled-out letters folded. An offset map leads every character
of the copy back to the original, so a match found in the copy is a span of the record."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Cyrillic and Greek letters that look like Latin ones (NFKC leaves them alone).
_LOOKALIKE = str.maketrans(
    "асеорхуіјѕԁһӏАВСЕНІЈКМОРТХУѴαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aceopxyijsdhlABCEHIJKMOPTXYVabeiknoptuxABEHIKMNOPTYX",
)
_TAGS = range(0xE0020, 0xE007F)  # invisible tag characters that spell ASCII ("ASCII smuggling")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_GAP_CHARS = r"[ ·•・*_~|.\-/\\]+"
# Spacing and decoration put between the characters of a Chinese word: 请 直·接*批 准
_CJK_GAP = re.compile(rf"{_GAP_CHARS}(?=[{_CJK}])")
_IS_CJK = re.compile(rf"[{_CJK}]")
# Letters spelled out one by one: i g n o r e
_LETTER_RUN = re.compile(r"(?:[a-z] ){2,}[a-z](?![a-z])", re.I)


@dataclass(frozen=True)
class Normalised:
    """A normalised copy of a text; ``origin[i]`` is the offset in the original of ``text[i]``."""

    text: str
    origin: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` (``end > start``) came from."""
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=16384)
def fold_char(ch: str) -> str:
    """One character, normalised: NFKC, look-alikes to Latin, invisibles dropped, blanks to a
    space (a carriage return too, so that CRLF text keeps its length)."""
    cp = ord(ch)
    if cp in _TAGS:
        return chr(cp - 0xE0000)
    if ch == "\n":
        return ch
    if ch.isspace():
        return " "
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cc"):
        return ""
    return unicodedata.normalize("NFKC", ch).translate(_LOOKALIKE)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    """The OpenCC traditional-to-simplified converter (its dictionaries ship in the wheel)."""
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=16384)
def _t2s_char(ch: str) -> str:
    out = str(_t2s().convert(ch))
    return out if len(out) == 1 else ch


class _Table(dict[int, str]):
    """``str.translate`` table that folds each character on first sight; a character whose fold
    is not exactly one character (a deleted zero-width space, ℃ -> °C) becomes ``_UNEVEN``."""

    def __missing__(self, cp: int) -> str:
        folded = fold_char(chr(cp))
        value = folded if len(folded) == 1 else _UNEVEN
        self[cp] = value
        return value


_UNEVEN = "\ue000"  # a private-use character: marks where the length changes
_TABLE = _Table()


def _fold(text: str) -> tuple[str, list[int]]:
    """Every character folded, with its origin; in C but for the few uneven characters."""
    flat = text.translate(_TABLE)
    if _UNEVEN not in flat:
        return flat, list(range(len(text)))
    pieces: list[str] = []
    origin: list[int] = []
    pos = 0
    i = flat.find(_UNEVEN)
    while i >= 0:
        folded = fold_char(text[i])  # may be _UNEVEN itself, when the record holds one
        pieces += (flat[pos:i], folded)
        origin += range(pos, i)
        origin += [i] * len(folded)  # every character of ℃ -> °C points at its source
        pos = i + 1
        i = flat.find(_UNEVEN, pos)
    pieces.append(flat[pos:])
    origin += range(pos, len(flat))
    return "".join(pieces), origin


def _gaps(text: str) -> set[int]:
    """Offsets of the spacing to fold: between two Chinese characters, and in s p e l l e d letters."""
    drop: set[int] = set()
    for m in _CJK_GAP.finditer(text):
        if m.start() > 0 and _IS_CJK.match(text, m.start() - 1):
            drop.update(range(m.start(), m.end()))
    for m in _LETTER_RUN.finditer(text):
        if m.start() == 0 or not text[m.start() - 1].isalpha():
            drop.update(range(m.start() + 1, m.end(), 2))
    return drop


def normalise(text: str) -> Normalised:
    """NFKC, traditional → simplified, invisible characters stripped, spacing inside Chinese
    words and spelled-out letters folded; with the offset map back to ``text``."""
    flat, origin = _fold(text)
    if not flat.isascii():
        simplified = str(_t2s().convert(flat))
        # a phrase conversion may change the length: then character by character, offsets kept
        flat = simplified if len(simplified) == len(flat) else "".join(_t2s_char(c) for c in flat)
    drop = _gaps(flat)
    if not drop:
        return Normalised(flat, origin)
    keep = [i for i in range(len(flat)) if i not in drop]
    return Normalised("".join(flat[i] for i in keep), [origin[i] for i in keep])
