"""Sharded batches: n machines split one batch by a stable hash of each case's id (its folder's
name), with no overlap and nothing missed, and say in ``shard.json`` which batch, which slice
and which knowledge-base version they processed, so that their outputs can be merged safely."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.errors import InvalidInputError
from agent.core.i18n import _

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 4096


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, case_id: str) -> bool:
        """Whether the case falls in this slice."""
        return shard_of(case_id, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> Shard(2, 4); InvalidInputError naming the option otherwise."""
    m = _SHARD.match(text)
    hint = _("Pass --shard i/n with 1 ≤ i ≤ n, e.g. --shard 1/2 on one machine and --shard 2/2 on the other.")
    if not m:
        raise InvalidInputError(_("--shard {text!r}: not of the form i/n", text=text), hint, field="--shard")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or n > MAX_SHARDS:
        raise InvalidInputError(
            _("--shard {text}: n must be 1 to {max_shards}", text=text, max_shards=MAX_SHARDS), hint, field="--shard"
        )
    if not 1 <= i <= n:
        raise InvalidInputError(_("--shard {text}: i must be 1 to {n}", text=text, n=n), hint, field="--shard")
    return Shard(i, n)


def shard_of(case_id: str, count: int) -> int:
    """The 1-based slice of ``case_id`` among ``count``: sha256, the same on every machine and
    Python process (the built-in ``hash`` of a str is salted per process)."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def batch_id(folders: list[Path]) -> str:
    """The identity of a whole batch: the sha256 of its sorted case ids (the same wherever the
    batch is mounted), so shards of different batches are told apart."""
    h = hashlib.sha256()
    for name in sorted(f.name for f in folders):
        h.update(name.encode("utf-8") + b"\n")
    return h.hexdigest()[:16]


def select(folders: list[Path], shard: Shard | None) -> list[Path]:
    """The folders of this slice, in batch order (all of them without a shard)."""
    return list(folders) if shard is None else [f for f in folders if shard.holds(f.name)]


def shard_info(folders: list[Path], mine: list[Path], shard: Shard, kb_version: str, kb_content: str) -> dict[str, Any]:
    """What ``shard.json`` records of one shard's run: ``kb_content`` is the content hash of the
    knowledge base's clauses (a rebuild of the same policies gets a new version stamp, not new
    content, so shards on either side of it still merge)."""
    return {
        "batch_id": batch_id(folders),
        "batch_cases": len(folders),
        "shard": str(shard),
        "index": shard.index,
        "count": shard.count,
        "kb_version": kb_version,
        "kb_content": kb_content,
        "cases": [f.name for f in mine],
    }
