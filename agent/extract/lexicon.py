"""The shipped extraction lexicon (agent/extract/lexicon.yaml), compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yaml

from agent.core.resources import package_file

MODALITIES = (
    "radiotherapy",
    "chemotherapy",
    "targeted",
    "endocrine",
    "immunotherapy",
    "dialysis",
    "anti_rejection",
    "antihypertensive",
    "hypoglycaemic",
)
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


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Load and compile the lexicon."""
    data = yaml.safe_load(package_file("agent.extract", "lexicon.yaml").read_text(encoding="utf-8"))
    drug_modality = {d: mod for mod, names in data["drugs"].items() for d in names}
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
        named_tumours={str(k): str(v) for k, v in data["named_tumours"].items()},
        sites=rows("sites"),
        in_situ_sites=rows("in_situ_sites"),
        benign_sites=rows("benign_sites"),
        disease_names=names,
        disease_name_re=re.compile(alternation([n for n, _ in names])),
    )


def code_for_site(text: str, table: list[tuple[list[str], str]]) -> str | None:
    """The code of the first row whose keys all occur in ``text``."""
    for keys, code in table:
        if all(k in text for k in keys):
            return code
    return None


def tumour_code(name: str) -> str | None:
    """WHO code a malignant tumour name means (肝细胞癌 -> C22.0, 右肺上叶腺癌 -> C34.1)."""
    named = tumour_code_named(name)
    if named:
        return named
    # histology words that contain a site's characters (乳头状癌) must not name the site
    return code_for_site(re.sub(r"乳头状|乳头样|乳头型", "", name), lexicon().sites)


_DM_TYPE = (("1型", "E10"), ("T1DM", "E10"), ("2型", "E11"), ("T2DM", "E11"))
_DM_COMPLICATION = (
    (r"多个并发症|多种并发症|多发并发症", ".7"),
    (r"肾病|肾脏病|肾损害|DKD", ".2"),
    (r"视网膜|眼底|黄斑|NPDR|PDR", ".3"),
    (r"神经病变|神经病|DPN", ".4"),
    (r"糖尿病足|足溃疡|坏疽|周围血管|下肢动脉", ".5"),
)


def diabetes_code(name: str) -> str | None:
    """A diabetes name composed of type and complication (1型糖尿病伴糖尿病视网膜病变 -> E10.3)."""
    if "糖尿病" not in name and "DM" not in name:
        return None
    cat = next((c for key, c in _DM_TYPE if key in name), "E14")
    for rx, sub in _DM_COMPLICATION:
        if re.search(rx, name):
            return cat + sub
    return cat + ".9"


def disease_code(name: str) -> str | None:
    """WHO code of a non-tumour disease name (慢性肾脏病5期 -> N18.5)."""
    flat = re.sub(r"\s", "", name)
    if "糖尿病" in flat or "DM" in flat:
        return diabetes_code(flat)
    for n, code in lexicon().disease_names:
        if re.sub(r"\s", "", n) in flat:
            return code
    return None


def tumour_code_named(text: str) -> str | None:
    """Code of a whole tumour name (肝细胞癌, DLBCL) anywhere in ``text``, or None."""
    lx = lexicon()
    for n in sorted(lx.named_tumours, key=len, reverse=True):
        if n in text:
            return lx.named_tumours[n]
    return None
