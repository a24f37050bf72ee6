"""Query expansion: colloquial, English and drug-name queries get the words policy documents
use (agent/kb/synonyms.yaml; drug names through the extraction lexicon)."""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from agent.core.resources import package_file

_MODALITY_CN = {
    "chemotherapy": "化疗",
    "radiotherapy": "放疗",
    "targeted": "靶向治疗",
    "endocrine": "内分泌治疗",
    "immunotherapy": "免疫治疗",
    "dialysis": "透析",
    "anti_rejection": "抗排异药物",
    "antihypertensive": "降压药物",
    "hypoglycaemic": "降糖药物 胰岛素",
}


@lru_cache(maxsize=1)
def _rules() -> list[tuple[re.Pattern[str], list[str]]]:
    data = yaml.safe_load(package_file("agent.kb", "synonyms.yaml").read_text(encoding="utf-8")) or {}
    return [(re.compile(str(k), re.I), [str(t) for t in v]) for k, v in data.items()]


def expand_query(query: str) -> str:
    """``query`` followed by the policy terms its words and drug names stand for."""
    extra: list[str] = []
    for rx, terms in _rules():
        if rx.search(query):
            extra += terms
    from agent.extract.lexicon import lexicon

    lx = lexicon()
    for m in lx.drug_re.finditer(query):
        extra.append(_MODALITY_CN[lx.drug_modality[m.group()]])
    extra = [t for t in dict.fromkeys(extra) if t not in query]
    return query + (" " + " ".join(extra) if extra else "")
