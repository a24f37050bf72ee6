"""Tumour names as hospitals write them -> WHO code: behaviour (malignant, in situ, uncertain,
benign), histological and haematological type, site and subsite, and the primary of a name that
also names a metastasis (``肺癌骨转移`` is C34.9; C79.5 is not the primary)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from agent.coding.names import norm
from agent.core.resources import package_file

Table = list[tuple[list[str], str]]

IN_SITU = re.compile(
    r"原位癌|原位黑色素瘤|原位腺癌|原位|上皮内瘤变(Ⅲ|III|3)级|高级别上皮内瘤变|高级别鳞状上皮内病变|"
    r"CIN(Ⅲ|III|3)|HSIL|DCIS|LCIS|(?<![A-Z])TIS(?![A-Z])"
)
UNCERTAIN = re.compile(r"交界性|恶性潜能未定|低度恶性潜能|动态未定|性质未定|良恶性未定|良恶性待定")
MALIGNANT = re.compile(
    r"恶性|癌|肉瘤|白血病|淋巴瘤|骨髓瘤|母细胞瘤|黑色素瘤|间皮瘤|胶质瘤|星形细胞瘤|生殖细胞瘤|精原细胞瘤|神经内分泌肿瘤|"
    r"(?<![A-Z])(NSCLC|SCLC|HCC|DLBCL|CML|CLL|AML|ALL|NHL|CA)(?![A-Z])"
)
BENIGN = re.compile(
    r"良性|腺瘤|肌瘤|血管瘤|淋巴管瘤|脂肪瘤|错构瘤|乳头状瘤|脑膜瘤|神经鞘瘤|听神经瘤|垂体瘤|囊腺瘤|神经纤维瘤"
)
# histology words that hold a site's characters (乳头状癌 is not the nipple)
_NOT_SITE = re.compile(r"乳头状|乳头样|乳头型")
_SECONDARY = re.compile(r"转移|继发")
# haematological neoplasms are coded by type wherever they are
_BY_TYPE_ONLY = re.compile(r"^C(8[1-9]|9[0-6])|^C22\.[0-3]|^C46|^C69\.2|^C64$|^C74")


@dataclass(frozen=True)
class TumourRules:
    """The tables of rules.yaml, keys normalised like the names they are matched in."""

    types: list[tuple[list[str], str]]
    typed_sites: Table
    sites: Table
    secondary_sites: Table
    in_situ_sites: Table
    uncertain_sites: Table
    uncertain_types: list[tuple[list[str], str]]
    benign_sites: Table


def _bounded(key: str, text: str) -> bool:
    """``key`` occurs in ``text``; an ASCII key must not be part of a longer Latin word."""
    if not re.fullmatch(r"[A-Z0-9]+", key):
        return key in text
    return re.search(rf"(?<![A-Z]){re.escape(key)}(?![A-Z])", text) is not None


@lru_cache(maxsize=1)
def tumour_rules() -> TumourRules:
    """rules.yaml, loaded once."""
    data = _raw()

    def table(key: str) -> Table:
        return [([norm(k) for k in str(r[0]).split("+") if k], str(r[1])) for r in data[key]]

    def named(key: str) -> list[tuple[list[str], str]]:
        rows = [([norm(w) for w in str(k).split("+")], str(v)) for k, v in data[key].items()]
        # 结节硬化型霍奇金淋巴瘤 is C81.1 although 霍奇金淋巴瘤 (C81.9) is the longer name in it
        return sorted(rows, key=lambda r: (r[1].endswith(".9"), len(r[0]) == 1, -sum(map(len, r[0]))))

    return TumourRules(
        types=named("types"),
        typed_sites=table("typed_sites"),
        sites=table("sites"),
        secondary_sites=table("secondary_sites"),
        in_situ_sites=table("in_situ_sites"),
        uncertain_sites=table("uncertain_sites"),
        uncertain_types=named("uncertain_types"),
        benign_sites=table("benign_sites"),
    )


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    # the C loader where PyYAML has it: the pure-Python one takes ~0.1 s for this file
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return dict(yaml.load(package_file("agent.coding", "rules.yaml").read_text(encoding="utf-8"), Loader=loader))


def raw_table(key: str) -> list[tuple[list[str], str]]:
    """A site table as written in rules.yaml (keys not normalised), for the extraction lexicon."""
    return [([k for k in str(r[0]).split("+") if k], str(r[1])) for r in _raw()[key]]


def raw_types() -> dict[str, str]:
    """Whole type names as written in rules.yaml (肝细胞癌 -> C22.0), for the extraction lexicon."""
    return {str(k): str(v) for k, v in _raw()["types"].items() if "+" not in str(k)}


def site_code(text: str, table: Table) -> str | None:
    """The code of the first row whose keys all occur in ``text`` (a row of no keys always does)."""
    for keys, code in table:
        if all(_bounded(k, text) for k in keys):
            return code
    return None


def type_code(text: str, rows: list[tuple[list[str], str]]) -> tuple[str, str] | None:
    """(name, code) of the first type whose words all occur in ``text`` (specific, longest first)."""
    for words, code in rows:
        if all(_bounded(w, text) for w in words):
            return words[-1], code
    return None


def behaviour(n: str) -> str | None:
    """in_situ | uncertain | malignant | benign, from the words of a normalised name."""
    if IN_SITU.search(n):
        return "in_situ"
    if UNCERTAIN.search(n):
        return "uncertain"
    if MALIGNANT.search(n):
        return "malignant"
    if BENIGN.search(n):
        return "benign"
    return None


def primary_part(n: str) -> tuple[str, bool]:
    """The part of a name that names the primary tumour, and whether the name is only a metastasis.

    ``肺癌骨转移`` -> (``肺癌``, False); ``骨转移癌`` / ``肝继发恶性肿瘤`` -> (name, True)."""
    m = _SECONDARY.search(n)
    if not m:
        return n, False
    before = n[: m.start()]
    last = None
    for t in MALIGNANT.finditer(before):
        last = t
    if last is None:
        return n, True
    return before[: last.end()], False


def _malignant(n: str, r: TumourRules) -> str | None:
    site_text = _NOT_SITE.sub("", n)
    typed = type_code(n, r.types)
    if typed:
        name, code = typed
        if _BY_TYPE_ONLY.match(code):
            return code
        site = site_code(site_text.replace(name, "", 1), r.sites)
        # a type that says no site (骨肉瘤, 胶质母细胞瘤, 非小细胞肺癌) takes the subsite the name gives
        if site and site not in ("C80.9", "C49.9") and (code == "C49.9" or site[:3] == code[:3] or code == "C41.9"):
            return site
        return code
    return site_code(n, r.typed_sites) or site_code(site_text, r.sites)


def tumour_code(name: str, kind: str | None = None) -> str | None:
    """WHO code of a tumour name, or None when it names no tumour. ``kind`` (from the extractor)
    is used only when the words themselves state no behaviour."""
    r = tumour_rules()
    n, secondary_only = primary_part(norm(name))
    if secondary_only:
        # 继发性肺结核 is no tumour: only a metastasis or a secondary malignancy is coded C77–C79
        return site_code(n, r.secondary_sites) if "转移" in n or MALIGNANT.search(n) else None
    unc = type_code(n, r.uncertain_types)
    if unc:
        return unc[1]
    found = behaviour(n) or {"in_situ": "in_situ", "benign": "benign", "malignant": "malignant"}.get(kind or "")
    if found == "in_situ":
        return site_code(n, r.in_situ_sites)
    if found == "uncertain":
        return site_code(n, r.uncertain_sites)
    if found == "malignant":
        return _malignant(n, r)
    if found == "benign":
        return site_code(n, r.benign_sites)
    # a type named without a behaviour word (胃间质瘤) is coded like a malignant one
    return _malignant(n, r) if type_code(n, r.types) else None
