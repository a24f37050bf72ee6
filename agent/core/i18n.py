"""The language of every message a user reads: Chinese (``zh``, the default: the readers are
hospital and 医保 staff) or English (``CERTREVIEW_LANG=en``).

Messages are written in English in the source, as templates with named placeholders
(``_("no such file: {path}", path=p)``), and translated from the gettext catalogue
``agent/core/locale/zh_CN.po`` (compiled to ``zh_CN.mo``, shipped in the wheel). ``N_`` marks a
string for the catalogue where it must be translated later (typer help, setting descriptions).
``make i18n`` extracts every marked string and updates and compiles the catalogue.

The language is read from the environment on each call, not from the settings: an error raised
while the settings themselves are being checked is translated too. An unknown value reads as the
default here; ``agent.core.config`` rejects it with a named error.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
CATALOGUE = {"zh": LOCALE_DIR / "zh_CN.mo"}


def current_lang() -> Lang:
    """``CERTREVIEW_LANG`` when it is a language certreview speaks, else the default (``zh``)."""
    value = os.environ.get("CERTREVIEW_LANG", DEFAULT_LANG).strip().lower()
    return "en" if value == "en" else DEFAULT_LANG


@cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """The catalogue of ``lang``; English is the source text itself. A missing catalogue (a broken
    installation) falls back to English rather than hiding the message that reports the problem."""
    path = CATALOGUE.get(lang)
    if path is None or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        return gettext.GNUTranslations(fh)


def _(message: str, /, **params: Any) -> str:
    """``message`` in the current language, its ``{name}`` placeholders filled from ``params``."""
    text = translations(current_lang()).gettext(message)
    return text.format(**params) if params else text


def N_(message: str, /) -> str:
    """Marks ``message`` for the catalogue without translating it now (``_`` translates it later)."""
    return message


# pydantic's own messages for the errors a user's file or setting commonly has; others stay as
# pydantic words them (English) inside the translated sentence around them
_PYDANTIC = {
    "missing": N_("Field required"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "dict_type": N_("Input should be a valid dictionary"),
    "list_type": N_("Input should be a valid list"),
}


def validation_message(error: Any, *, strip_prefix: bool = True) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in the current language. In
    English it is pydantic's text (without its ``Value error,`` prefix unless ``strip_prefix`` is
    false); in Chinese a validator's own message (already translated) never has the prefix."""
    raw = str(error["msg"])
    msg = raw.removeprefix("Value error, ")
    template = _PYDANTIC.get(str(error.get("type")))
    if current_lang() == "en":
        return msg if strip_prefix else raw
    if template is None:
        return msg
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in ctx:  # "'a', 'b' or 'c'": the choices stay as they are written in the file
        ctx["expected"] = ctx["expected"].replace(" or ", _(" or "))
    try:
        return _(template, **ctx) if ctx else _(template)
    except (KeyError, IndexError):  # a pydantic version with other context keys: its own words
        return msg
