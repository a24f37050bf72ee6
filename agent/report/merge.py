"""``triage merge``: the outputs of ``triage --shard i/n`` on n machines joined into the one queue
a single machine would have written. Shards of another batch, of another knowledge-base version,
counted differently, given twice or missing are refused by name before anything is written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.core.errors import InvalidInputError
from agent.core.i18n import N_, _
from agent.core.models import Recommendation
from agent.review.triage import summarize

_HINT = N_("Pass the --out folders of `certreview triage BATCH --shard i/n`, one for each i, all of one run.")


class ShardMergeError(InvalidInputError):
    """Shard outputs that cannot be merged into one queue (named: which folder, and why)."""


@dataclass
class ShardOutput:
    """One shard's --out folder, read."""

    folder: Path
    info: dict[str, Any]
    recs: list[Recommendation]
    wall_s: float


def read_shard(folder: Path) -> ShardOutput:
    """A shard's shard.json and results.jsonl; ShardMergeError naming what is missing or damaged."""
    meta, results = folder / "shard.json", folder / "results.jsonl"
    if not meta.is_file():
        raise ShardMergeError(
            _("{folder}: no shard.json, so not the output of `triage --shard`", folder=folder), _(_HINT)
        )
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        lines = [ln for ln in results.read_text(encoding="utf-8").splitlines() if ln.strip()]
        recs = [Recommendation.model_validate_json(ln) for ln in lines[:-1]]
        summary = json.loads(lines[-1])["summary"] if lines else {}
    except FileNotFoundError:
        raise ShardMergeError(_("{folder}: no results.jsonl", folder=folder), _(_HINT)) from None
    except (ValueError, ValidationError, KeyError, IndexError, TypeError):
        raise ShardMergeError(_("{folder}: shard.json or results.jsonl is damaged", folder=folder), _(_HINT)) from None
    if not isinstance(info, dict) or len(recs) != len(info.get("cases", ())):
        raise ShardMergeError(
            _(
                "{folder}: results.jsonl holds {count} cases, shard.json names {count2}",
                folder=folder,
                count=len(recs),
                count2=len(info.get("cases", ())),
            ),
            _(_HINT),
        )
    return ShardOutput(folder, info, recs, float(summary.get("wall_s", 0.0)))


def _content(s: ShardOutput) -> str:
    """What the shard's knowledge base held (its content hash; the version string for older shards)."""
    return str(s.info.get("kb_content") or s.info["kb_version"])


def _agree(shards: list[ShardOutput]) -> None:
    """Every shard of one batch, one knowledge-base version, one count; each index once, none missing."""
    first = shards[0]
    for s in shards[1:]:
        if s.info["batch_id"] != first.info["batch_id"]:
            raise ShardMergeError(
                _(
                    "{folder} is a shard of another batch ({batch_id}) than {folder2} ({batch_id2})",
                    folder=s.folder,
                    batch_id=s.info["batch_id"],
                    folder2=first.folder,
                    batch_id2=first.info["batch_id"],
                ),
                _(_HINT),
            )
        if _content(s) != _content(first):
            raise ShardMergeError(
                _(
                    "{folder} was triaged against knowledge base {kb_version}, {folder2} against {kb_version2}",
                    folder=s.folder,
                    kb_version=s.info["kb_version"],
                    folder2=first.folder,
                    kb_version2=first.info["kb_version"],
                ),
                _("Run every shard against the same knowledge base: refresh first, then triage all shards again."),
            )
        if s.info["count"] != first.info["count"]:
            raise ShardMergeError(
                _(
                    "{folder} is shard {shard}, {folder2} is shard {shard2}: the batch was split two ways",
                    folder=s.folder,
                    shard=s.info["shard"],
                    folder2=first.folder,
                    shard2=first.info["shard"],
                ),
                _(_HINT),
            )
    seen: dict[int, Path] = {}
    for s in shards:
        if s.info["index"] in seen:
            raise ShardMergeError(
                _(
                    "{seen} and {folder} are both shard {shard}",
                    seen=seen[s.info["index"]],
                    folder=s.folder,
                    shard=s.info["shard"],
                ),
                _(_HINT),
            )
        seen[s.info["index"]] = s.folder
    missing = [f"{i}/{first.info['count']}" for i in range(1, first.info["count"] + 1) if i not in seen]
    if missing:
        raise ShardMergeError(
            _("shard {items} missing: the queue would lack its cases", items=", ".join(missing)), _(_HINT)
        )


def merge_shards(folders: list[Path]) -> tuple[list[Recommendation], dict[str, Any], str]:
    """The recommendations of every shard in batch order, their summary, and the knowledge-base
    version they share."""
    shards = [read_shard(f) for f in folders]
    _agree(shards)
    by_case: dict[str, Recommendation] = {}
    for s in shards:
        by_case.update(zip(s.info["cases"], s.recs, strict=True))
    if len(by_case) != shards[0].info["batch_cases"]:
        raise ShardMergeError(
            _(
                "the shards hold {count} cases, the batch has {batch_cases}",
                count=len(by_case),
                batch_cases=shards[0].info["batch_cases"],
            ),
            _(_HINT),
        )
    recs = [by_case[name] for name in sorted(by_case)]  # the batch's order: case folders sorted by name
    # the shards ran side by side: the merged run took as long as the slowest
    summary = summarize(recs, [r.provenance.elapsed_ms for r in recs], max(s.wall_s for s in shards))
    return recs, summary, str(shards[0].info["kb_version"])
