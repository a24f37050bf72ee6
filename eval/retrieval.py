"""Retrieval eval: recall@k and MRR by topic over a labelled query set, for hybrid, BM25-only
and dense-only search."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from agent.core.errors import InvalidInputError
from agent.core.i18n import _
from eval.metrics import percentile

MODES = ("hybrid", "bm25", "dense")


def load_queries(path: Path) -> list[dict[str, Any]]:
    """The query set: ``queries: [{q, topics, who}]``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(
            _("cannot read query set {path}: {error}", path=path, error=exc),
            _("A YAML file with queries: [{q, topics}]"),
        ) from None
    queries = data.get("queries") if isinstance(data, dict) else None
    if not queries or not all(isinstance(q, dict) and q.get("q") and q.get("topics") for q in queries):
        raise InvalidInputError(_("{path}: expected 'queries' with q and topics in every item", path=path))
    return list(queries)


def score_retrieval(kb: Any, queries: list[dict[str, Any]], *, k: int = 5) -> dict[str, Any]:
    """Per mode: recall@k (a clause with a labelled topic in the top k), MRR, by topic, latency."""
    out: dict[str, Any] = {"queries": len(queries), "k": k, "modes": {}}
    for mode in MODES:
        hits, rr, times = [], [], []
        by_topic: dict[str, list[int]] = {}
        for q in queries:
            t0 = time.perf_counter()
            res = kb.search(q["q"], k=max(k, 10), mode=mode)
            times.append((time.perf_counter() - t0) * 1000)
            wanted = set(q["topics"])
            rank = next((i + 1 for i, h in enumerate(res) if wanted & set(h.topics)), None)
            hit = int(rank is not None and rank <= k)
            hits.append(hit)
            rr.append(1.0 / rank if rank else 0.0)
            for t in wanted:
                by_topic.setdefault(t, []).append(hit)
        out["modes"][mode] = {
            "recall_at_k": round(sum(hits) / len(hits), 4),
            "mrr": round(sum(rr) / len(rr), 4),
            "recall_by_topic": {t: round(sum(v) / len(v), 4) for t, v in sorted(by_topic.items())},
            "p50_ms": round(percentile(times, 0.5), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
        }
    return out
