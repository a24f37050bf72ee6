"""Chinese tokenisation for BM25: jieba (bm25s's own tokenizer does not split Chinese)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Domain words jieba would otherwise cut apart.
_DOMAIN_WORDS = (
    "门特",
    "门慢",
    "门诊特定病种",
    "门诊慢特病",
    "慢特病",
    "定点医疗机构",
    "异地就医",
    "备案",
    "参保地",
    "就医地",
    "暂停参保",
    "终止参保",
    "正常参保",
    "尿毒症",
    "透析",
    "血液透析",
    "腹膜透析",
    "抗排异",
    "器官移植",
    "恶性肿瘤",
    "病理",
    "细胞学",
    "诊断证明",
    "出院小结",
    "靶向",
    "内分泌",
    "免疫治疗",
    "放疗",
    "化疗",
    "复审",
    "有效期",
    "重复认定",
    "身份核验",
    "人证不符",
    "左心室肥厚",
    "糖尿病肾病",
    "视网膜病变",
    "原位癌",
    "认定标准",
)
# stop words: particles and question words that carry no policy meaning
_STOP = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "为",
        "由",
        "对",
        "按",
        "等",
        "其",
        "并",
        "可",
        "以",
        "之",
        "于",
        "也",
        "都",
        "就",
        "要",
        "吗",
        "呢",
        "啊",
        "能",
        "不能",
        "怎么",
        "怎么办",
        "什么",
        "哪些",
        "如何",
        "吧",
        "有",
        "没有",
        "个",
    ]
)
_KEEP = re.compile(r"[\w\u3400-\u9fff]")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    for w in _DOMAIN_WORDS:
        jieba.add_word(w, freq=20000)
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lower-cased, without punctuation and stop words."""
    jb = _jieba()
    out = []
    for tok in jb.lcut_for_search(text.lower()):
        tok = tok.strip()
        if tok and _KEEP.search(tok) and tok not in _STOP:
            out.append(tok)
    return out
