"""The shipped extraction lexicon (lexicon.yaml), compiled once. Names are coded by
``agent.coding.code_name``; the tumour tables here come from agent/coding/rules.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import get_args

import yaml

from agent.coding.coder import CodeMatch, code_name
from agent.coding.tumours import raw_table, raw_types
from agent.core.criteria import Modality
from agent.core.items import ITEMS_FILE, load_items
from agent.core.resources import data_folder, package_file

# the treatment modalities of RULES.md §4, in the order forms list them: one list, the catalogue's type
MODALITIES: tuple[str, ...] = get_args(Modality)
MODALITY_CN = {
    "radiotherapy": "放疗",
    "chemotherapy": "化疗",
    "targeted": "靶向治疗",
    "endocrine": "内分泌治疗",
    "immunotherapy": "免疫治疗",
    "dialysis": "透析",
    "anti_rejection": "抗排异治疗",
    "antihypertensive": "降压治疗",
    "hypoglycaemic": "降糖治疗（含胰岛素）",
}
TUMOUR_MODALITIES = ("radiotherapy", "chemotherapy", "targeted", "endocrine", "immunotherapy")


def alternation(words: list[str]) -> str:
    """A regex alternation of ``words``, longest first; ASCII words must stand alone."""
    parts = []
    for w in sorted(set(words), key=len, reverse=True):
        esc = re.escape(w)
        if re.fullmatch(r"[A-Za-z0-9\- ]+", w):
            esc = rf"(?<![A-Za-z]){esc}(?![A-Za-z])"
        parts.append(esc)
    return "|".join(parts)


@dataclass
class Lexicon:
    """Compiled patterns and tables."""

    drug_modality: dict[str, str]
    drug_re: re.Pattern[str]
    word_modalities: dict[str, list[str]]
    word_re: re.Pattern[str]
    regimen_modalities: dict[str, list[str]]
    regimen_re: re.Pattern[str]
    malignant_re: re.Pattern[str]
    benign_re: re.Pattern[str]
    in_situ_re: re.Pattern[str]
    named_tumours: dict[str, str]
    sites: list[tuple[list[str], str]]
    in_situ_sites: list[tuple[list[str], str]]
    benign_sites: list[tuple[list[str], str]]
    disease_names: list[tuple[str, str]]
    disease_name_re: re.Pattern[str]


def table_drugs() -> dict[str, str]:
    """The shipped item table's generics that have a modality (adjuvant drugs have none, so they
    name no treatment)."""
    table = load_items(data_folder("knowledge_base") / ITEMS_FILE)
    return {g: item.modality for g, item in table.items.items() if item.modality is not None}


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Load and compile the lexicon."""
    data = yaml.safe_load(package_file("agent.extract", "lexicon.yaml").read_text(encoding="utf-8"))
    drug_modality = {d: mod for mod, names in data["drugs"].items() for d in names}
    drug_modality |= table_drugs()  # the item table says what its generics are
    word_mods: dict[str, list[str]] = {}
    for mod, words in data["treatment_words"].items():
        for w in words:
            word_mods.setdefault(w, []).append(mod)
    regimens = {k: list(v) for k, v in data["regimens"].items()}

    def rows(key: str) -> list[tuple[list[str], str]]:
        return [(str(r[0]).split("+"), str(r[1])) for r in data[key]]

    names = [(str(n), str(c)) for n, c in data["disease_names"]]
    return Lexicon(
        drug_modality=drug_modality,
        drug_re=re.compile(alternation(list(drug_modality))),
        word_modalities=word_mods,
        word_re=re.compile(alternation(list(word_mods))),
        regimen_modalities=regimens,
        regimen_re=re.compile(
            r"(?<![A-Za-z-])("
            + "|".join(re.escape(r) for r in sorted(regimens, key=len, reverse=True))
            + r")(?![A-Za-z])"
        ),
        malignant_re=re.compile(alternation(data["malignant_terms"])),
        benign_re=re.compile(alternation(data["benign_terms"])),
        in_situ_re=re.compile(alternation(data["in_situ_terms"])),
        # whole type names (肝细胞癌), so that 原发性肝癌（肝细胞癌）keeps its parenthetical
        named_tumours=raw_types(),
        sites=rows("subsites"),
        in_situ_sites=raw_table("in_situ_sites"),
        benign_sites=raw_table("benign_sites"),
        disease_names=names,
        disease_name_re=re.compile(alternation([n for n, _ in names])),
    )


def code_for_site(text: str, table: list[tuple[list[str], str]]) -> str | None:
    """The code of the first row whose keys all occur in ``text``."""
    for keys, code in table:
        if all(k in text for k in keys):
            return code
    return None


# what a rule gives a tumour name that states no site (恶性肿瘤, 交界性肿瘤): the extractor treats
# such a name as naming no code, so that the assessors look for the diagnosis elsewhere
_NO_SITE = ("C80.9", "C79.9", "D48.9")


def _tumour(m: CodeMatch | None) -> str | None:
    if m is None or not (m.code[0] == "C" or (m.code[0] == "D" and m.code[1:3] < "49")):
        return None
    return None if m.method == "rule" and m.code in _NO_SITE else m.code


def tumour_code(name: str) -> str | None:
    """WHO code a tumour name means (肝细胞癌 -> C22.0, 右肺上叶腺癌 -> C34.1), by
    ``code_name``; a fuzzy guess is not taken here, where no confidence could be shown."""
    return _tumour(code_name(name, "malignant", fuzzy_ok=False))


def disease_code(name: str) -> str | None:
    """WHO code of a non-tumour disease name (慢性肾脏病5期 -> N18.5), by ``code_name``."""
    m = code_name(name, "disease", fuzzy_ok=False)
    return m.code if m else None


def tumour_code_named(text: str) -> str | None:
    """Code of a tumour name (肝细胞癌, DLBCL, 乳腺导管原位癌), or None when ``text`` names none."""
    return _tumour(code_name(text, fuzzy_ok=False))
