"""The claims file read for supervision at volume: every line validated by the claims room's
``ClaimLine`` (a bad line named by its number and field exactly as ``read_claims`` names it) and
kept only as flat rows — a claim row and its item rows — which is all the rule SQL and the report
need (a million pydantic models would cost gigabytes). Large files are validated in chunks by
worker processes, one per core."""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from agent.claims.lines import BadLine, parse_claim, read_claims
from agent.core.i18n import _
from agent.supervise.errors import ClaimsFileError

CHUNK_BYTES = 16 << 20  # bytes per task: big enough to amortise the hand-over, small enough to spread
PARALLEL_FROM = 2 * CHUNK_BYTES  # smaller files are read in this process (starting workers costs more)
EPOCH = 719163  # date(1970, 1, 1).toordinal()


class ClaimRow(NamedTuple):
    """One valid claim as the rules and the report see it (days since 1970, money in cents)."""

    claim_id: str
    id_number: str
    disease: str
    service_day: int
    hospital_code: str
    hospital_region: str
    total_cents: int
    line: int


ItemRow = tuple[str, int, str, int | None, int, int]  # claim_id, position, generic, days_supply, cents, line


@dataclass
class ClaimsRead:
    """What the file held: its valid claims, their items, its bad lines."""

    claims: list[ClaimRow] = field(default_factory=list)
    items: list[ItemRow] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while millions of row tuples are made: none of them is in a
    cycle, yet each full collection would walk them all again (3x slower table building)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _cents(amount: object) -> int:
    return int(amount.scaleb(2))  # type: ignore[attr-defined]  # a Decimal with 2 decimals


def read_chunk(first: int, lines: Iterable[str]) -> ClaimsRead:
    """Validate ``lines`` (numbered from ``first``) as ``read_claims`` does, line by line."""
    out = ClaimsRead()
    for lineno, raw in enumerate(lines, first):
        if not raw.strip():
            continue
        cl = parse_claim(lineno, raw)
        if isinstance(cl, BadLine):
            out.bad.append(cl)
            continue
        total = 0
        for pos, it in enumerate(cl.items):
            cents = _cents(it.amount)
            total += cents
            out.items.append((cl.claim_id, pos, it.generic, it.days_supply, cents, lineno))
        h = cl.hospital
        day = cl.service_date.toordinal() - EPOCH
        out.claims.append(ClaimRow(cl.claim_id, cl.id_number, cl.disease, day, h.code, h.region_code, total, lineno))
    return out


def _spans(path: Path) -> list[tuple[int, int, int]]:
    """(offset, length, first line number) of chunks of whole lines; each worker reads its own
    bytes, so the text is never handed between processes. Line numbers count line ends as text
    mode reads them (\n, \r\n and a lone \r), as ``read_claims`` numbers lines."""
    spans, first, offset = [], 1, 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            if not block.endswith((b"\n", b"\r")):
                block += fh.readline()
            spans.append((offset, len(block), first))
            first += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            offset += len(block)
    return spans


def read_span(path: str, offset: int, length: int, first: int) -> ClaimsRead:
    """Validate the lines of one chunk of the file (a worker's task)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    text = data.decode("utf-8-sig" if offset == 0 else "utf-8")
    with bulk():
        return read_chunk(first, io.StringIO(text, newline=None))


def _read(path: Path, workers: int | None) -> ClaimsRead:
    spans = _spans(path)
    n = workers or min(os.cpu_count() or 1, 8)
    try:
        if n <= 1 or path.stat().st_size < PARALLEL_FROM:
            parts = [read_span(str(path), *span) for span in spans]
        else:
            with ProcessPoolExecutor(max_workers=n) as pool:
                parts = list(pool.map(read_span, *zip(*[(str(path), *span) for span in spans], strict=True)))
    except UnicodeDecodeError:
        read_claims(path)  # raises its named error for a file that is not UTF-8
        raise
    whole = ClaimsRead()
    for p in parts:  # (read_claims_file holds bulk() around this)
        whole.claims += p.claims
        whole.items += p.items
        whole.bad += p.bad
    return whole


def read_claims_file(path: Path, workers: int | None = None) -> ClaimsRead:
    """The valid claims of ``path``, their items and the bad lines (named as ``read_claims``
    names them); a second line with a claim_id already seen is a bad line too (the rules key on
    claim_id). No valid line at all is an error (``ClaimsFileError``)."""
    if not path.is_file():
        read_claims(path)  # raises its named error for a missing path
    with bulk():
        got = _read(path, workers)
    seen: dict[str, int] = {}
    dropped: set[int] = set()
    kept = []
    for c in got.claims:
        if c.claim_id in seen:
            why = _("claim_id already used on line {line}", line=seen[c.claim_id])
            got.bad.append(BadLine(c.line, "claim_id", why))
            dropped.add(c.line)
            continue
        seen[c.claim_id] = c.line
        kept.append(c)
    if dropped:  # a dropped line's items go with it
        got.items = [it for it in got.items if it[5] not in dropped]
    got.claims = kept
    got.bad.sort(key=lambda b: b.line)
    if not kept:
        raise ClaimsFileError(
            _("{path}: no valid claim line ({bad} bad)", path=path, bad=len(got.bad)),
            _("Each line must be one claim of shared/CLAIMS.md §3; `certreview supervise` names the bad lines."),
        )
    return got
