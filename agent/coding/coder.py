"""One entry point for the code a diagnosis name means, and the physician's lookup.

``code_name`` tries, in order: a code written in the name (WHO or 医保版), the official Chinese WHO
name, the clinical-name rules (tumours, transplant, diabetes, hypertension, kidney), then fuzzy
matching against the official names — the last only with its confidence and the official name it
matched, so a reviewer sees what was assumed."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from agent.coding.chronic import chronic_code
from agent.coding.icd10 import CODE_RE, children, default_code, describe, find_codes, is_valid, parent
from agent.coding.names import OfficialNames, norm, official_names, require_names
from agent.coding.tumours import tumour_code
from agent.core.errors import InvalidInputError
from agent.core.i18n import _
from agent.core.text import halfwidth

Method = Literal["code", "exact", "rule", "fuzzy", "related"]  # related: a sibling in `icd search`
FUZZY_MIN = 80.0  # below this a match is more often wrong than right on our list
SEARCH_MIN = 50.0  # `icd search` lists candidates down to this score for the physician to judge
_CONFIDENCE: dict[str, float] = {"code": 1.0, "exact": 1.0, "rule": 0.9}
# characters that change the disease when swapped (慢性乙型肝炎 is not 慢性丙型肝炎, 1型 not 2型):
# a fuzzy candidate must hold every one of them that the query holds
_KEY_CHARS = frozenset("甲乙丙丁戊12345ⅠⅡⅢⅣⅤ良恶")


@dataclass(frozen=True)
class CodeMatch:
    """The WHO code a name means, how it was found, and the official name of that code."""

    code: str
    name: str  # official Chinese WHO name of ``code`` ('' where the names are not installed)
    method: Method
    confidence: float
    matched: str = ""  # the official name a fuzzy match compared with

    @property
    def category(self) -> str:
        return self.code[:3]

    def as_dict(self) -> dict[str, object]:
        """JSON form for ``--json``."""
        return {
            "code": self.code,
            "name": self.name,
            "method": self.method,
            "confidence": round(self.confidence, 3),
            "matched": self.matched or self.name,
        }


@dataclass(frozen=True)
class CodeInfo:
    """One code as ``icd show`` prints it."""

    code: str
    name_zh: str
    name_en: str
    parent: str | None
    parent_name: str
    children: list[tuple[str, str]] = field(default_factory=list)


class UnknownCodeError(InvalidInputError):
    """A code that is not in the WHO ICD-10."""

    def __init__(self, code: str) -> None:
        super().__init__(
            _("'{code}' is not a WHO ICD-10 code", code=code),
            _(
                "give a category or subcategory such as C34 or C34.1 (医保版 C34.100x001 is accepted); "
                "to find a code by name: certreview icd search 名称"
            ),
            field="code",
        )


def _match(code: str, method: Method, names: OfficialNames, confidence: float | None = None) -> CodeMatch:
    return CodeMatch(code, names.zh.get(code, ""), method, _CONFIDENCE[method] if confidence is None else confidence)


def _exact(n: str, names: OfficialNames) -> str | None:
    # 再生障碍性贫血 is written for the official 未特指的再生障碍性贫血 (D61.9)
    code = names.by_name.get(n) or names.by_name.get("未特指的" + n) or names.by_name.get("未特指" + n)
    if code is None:
        return None
    # an official category name says no more than its category: RULES §4 gives its .9
    return default_code(code) if len(code) == 3 and children(code) else code


@lru_cache(maxsize=4096)
def code_name(name: str, kind: str | None = None, *, fuzzy_ok: bool = True) -> CodeMatch | None:
    """The WHO code ``name`` means, or None. ``kind`` (malignant / in_situ / benign / disease, from
    the extractor) only decides a tumour name that states no behaviour itself; ``fuzzy_ok=False``
    stops before the fuzzy match (callers that cannot show its confidence)."""
    if not name or not name.strip():
        return None
    names = official_names()
    written = find_codes(name)
    n = norm(name)
    if written and len(norm(written[0].raw)) >= len(n) - 1:  # the name is a code (C34.100x001)
        return _match(written[0].who, "code", names)
    exact = _exact(n, names)
    if exact:
        return _match(exact, "exact", names)
    ruled = chronic_code(n) or tumour_code(name, None if kind == "disease" else kind)
    if ruled and is_valid(ruled):
        return _match(ruled, "rule", names)
    return fuzzy(n, names) if fuzzy_ok else None


def fuzzy(n: str, names: OfficialNames, minimum: float = FUZZY_MIN) -> CodeMatch | None:
    """The closest official name, when it is close enough; confidence is its score / 100."""
    # the score is the mean of WRatio and ratio (both ≤ 100): below 2·minimum − 100 WRatio cannot reach it
    hits = ranked(n, names, 1, cutoff=2 * minimum - 100)
    if not hits or hits[0][1] < minimum:
        return None
    code, score, official = hits[0]
    code = _exact(norm(official), names) or code
    return CodeMatch(code, names.zh.get(code, official), "fuzzy", score / 100.0, matched=official)


def ranked(n: str, names: OfficialNames, k: int, cutoff: float = 40.0) -> list[tuple[str, float, str]]:
    """(code, score 0–100, official name) of the ``k`` official names closest to ``n``; names whose
    WRatio is under ``cutoff`` are not scored at all (that keeps a fuzzy lookup fast)."""
    if not names.zh:
        return []
    from rapidfuzz import fuzz, process  # imported here: `certreview --help` must not load it

    choices = _choices(names)
    out = process.extract(n, choices[0], scorer=fuzz.WRatio, limit=max(k, 30), score_cutoff=cutoff)
    # WRatio scores every official name that contains the query alike (帕金森 in 继发性帕金森综合征):
    # the score is its mean with the plain edit-distance ratio, which favours the closest length
    keys = _KEY_CHARS.intersection(n)
    scored = sorted(((w + fuzz.ratio(n, c)) / 2, c, i) for c, w, i in out if keys.issubset(c))
    scored.sort(key=lambda hit: -hit[0])
    return [(choices[1][i], float(score), names.zh[choices[1][i]]) for score, _, i in scored[:k]]


def _choices(names: OfficialNames) -> tuple[list[str], list[str]]:
    """Normalised official names and their codes, built on the first fuzzy lookup."""
    if names.choices is None:
        codes = list(names.zh)
        names.choices = ([norm(names.zh[c]) for c in codes], codes)
    return names.choices


def search(query: str, k: int = 10) -> list[CodeMatch]:
    """Ranked matches for a physician's query: the code the name means first, then the other
    subcategories of its category (method ``related``), then the closest official names by fuzzy
    score."""
    if not query.strip():
        raise InvalidInputError(
            _("the search query is empty"), _("give a diagnosis name, e.g. 右肺上叶腺癌"), field="query"
        )
    if k < 1:
        raise InvalidInputError(_("-k must be at least 1 (got {k})", k=k), _("e.g. -k 5"), field="k")
    names = require_names()
    n = norm(query)
    best = code_name(query)
    out: list[CodeMatch] = [best] if best is not None else []
    # the other subcategories of the code the name means are the likeliest alternatives
    siblings = [c for c in children(best.category) if c != best.code] if best is not None else []
    for code in sorted(siblings, key=lambda c: -_score(n, names.zh.get(c, ""))):
        official = names.zh.get(code, "")
        out.append(CodeMatch(code, official, "related", _score(n, official) / 100.0, matched=official))
    for code, score, official in ranked(n, names, k + 1):
        if score >= SEARCH_MIN and all(m.code != code for m in out):
            out.append(CodeMatch(code, official, "fuzzy", score / 100.0, matched=official))
    return out[:k]


def _score(n: str, official: str) -> float:
    """The fuzzy score of ``ranked`` for one official name."""
    from rapidfuzz import fuzz

    c = norm(official)
    return (fuzz.WRatio(n, c) + fuzz.ratio(n, c)) / 2


def who_code(code: str) -> str:
    """The WHO code a physician typed (``c34.1``, ``Ｃ３４．１``, 医保版 ``C34.100x001``, ``I10.x00``),
    or UnknownCodeError; unlike ``normalize`` an unknown subcategory is not widened to its category."""
    raw = halfwidth(code.strip())
    m = CODE_RE.search(raw)
    if not m or m.start() != 0 or m.end() != len(raw):
        raise UnknownCodeError(code.strip())
    cat, ext = f"{m.group(1).upper()}{m.group(2)}", m.group(3)
    who = cat if not ext or not ext[0].isdigit() else f"{cat}.{ext[0]}"
    if not is_valid(who):
        raise UnknownCodeError(code.strip())
    return who


def show(code: str) -> CodeInfo:
    """Official Chinese and English names of ``code``, its parent and its children."""
    who = who_code(code)
    names = require_names()
    up = parent(who)
    return CodeInfo(
        code=who,
        name_zh=names.zh.get(who, ""),
        name_en=names.en.get(who) or describe(who) or "",
        parent=up,
        parent_name=(names.zh.get(up, "") or describe(up) or "") if up else "",
        children=[(c, names.zh.get(c, "") or describe(c) or "") for c in children(who)],
    )
