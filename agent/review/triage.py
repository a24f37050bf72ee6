"""Task: a batch of case folders -> one Recommendation per case (a case that cannot be read
yields an error line and the batch goes on), a ranked queue, and a summary."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from agent.core.config import Settings
from agent.core.deps import Deps
from agent.core.errors import CertreviewError, InvalidInputError
from agent.core.i18n import _
from agent.core.models import Recommendation, SkippedDocument
from agent.review.deps import build_deps

QUEUE_GROUPS = (
    ("approve", "可直接批准 Ready to approve"),
    ("check_documents", "待核对文书 Documents to check"),
    ("reject", "待确认不予认定 Reject to confirm"),
    ("need_info", "需补充材料 Documents to request"),
    ("error", "无法处理 Could not be processed"),
)


def case_folders(batch: Path) -> list[Path]:
    """Case folders of a batch: every sub-folder not starting with '.', sorted by name. One without
    case.json (an empty folder too) is kept, so it is reported as a case error, never dropped."""
    if not batch.is_dir():
        raise InvalidInputError(_("not a folder: {path}", path=batch), _("Pass a folder of case folders."))
    if (batch / "case.json").exists():
        return [batch]
    folders = sorted(p for p in batch.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InvalidInputError(
            _("no case folders in {path}", path=batch),
            _("Each case is a folder with case.json and records/ (see docs/CASES.md)."),
        )
    return folders


def process_one(folder: Path, deps: Deps) -> Recommendation:
    """Review one folder, turning every failure into an error line (never raising)."""
    from agent.records.case import load_case
    from agent.review.recommend import error_recommendation

    try:
        return deps.backend.review(load_case(folder), deps)
    except InvalidInputError as exc:
        return error_recommendation(folder.name, "INVALID_INPUT", exc.message, exc.field, deps)
    except CertreviewError as exc:
        return error_recommendation(folder.name, "PROCESSING_ERROR", exc.message, None, deps)
    except Exception as exc:  # isolate one case's defect from the batch; no record text in the message
        return error_recommendation(
            folder.name, "INTERNAL_ERROR", f"{type(exc).__name__} while processing the case", None, deps
        )


_WORKER_DEPS: Deps | None = None


def _init_worker(settings_json: str, attach: Callable[[Deps], Deps] | None) -> None:
    global _WORKER_DEPS
    deps = build_deps(Settings.model_validate_json(settings_json))
    _WORKER_DEPS = attach(deps) if attach is not None else deps


def _work(folder: str) -> tuple[str, float]:
    assert _WORKER_DEPS is not None
    t0 = time.perf_counter()
    rec = process_one(Path(folder), _WORKER_DEPS)
    return rec.model_dump_json(), (time.perf_counter() - t0) * 1000


def run_batch(
    folders: list[Path],
    deps: Deps,
    *,
    workers: int = 1,
    on_result: Callable[[Recommendation, float], None] | None = None,
    attach: Callable[[Deps], Deps] | None = None,
) -> Iterator[tuple[Recommendation, float]]:
    """Yield (recommendation, wall ms) per folder, in input order; ``workers`` > 1 uses processes,
    each building its own deps and applying ``attach`` (a module-level function, e.g. the one that
    opens the registry) so that worker processes read what the parent reads."""
    if deps.backend.io_bound and len(folders) > 1:
        # model calls wait on the network: threads, up to the configured concurrency
        from concurrent.futures import ThreadPoolExecutor

        def timed(f: Path) -> tuple[Recommendation, float]:
            t0 = time.perf_counter()
            rec = process_one(f, deps)
            return rec, (time.perf_counter() - t0) * 1000

        with ThreadPoolExecutor(max_workers=max(1, deps.settings.llm_concurrency)) as threads:
            for rec, ms in threads.map(timed, folders):
                if on_result:
                    on_result(rec, ms)
                yield rec, ms
        return
    if workers <= 1 or len(folders) < 2:
        for f in folders:
            t0 = time.perf_counter()
            rec = process_one(f, deps)
            ms = (time.perf_counter() - t0) * 1000
            if on_result:
                on_result(rec, ms)
            yield rec, ms
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(deps.settings.model_dump_json(), attach)
    ) as pool:
        for raw, ms in pool.map(
            _work, [str(f) for f in folders], chunksize=max(1, min(32, len(folders) // (workers * 8) or 1))
        ):
            rec = Recommendation.model_validate_json(raw)
            if on_result:
                on_result(rec, ms)
            yield rec, ms


def skipped_records(rec: Recommendation) -> list[SkippedDocument]:
    """The records of the case that could not be read."""
    return list(rec.form.skipped) if rec.form else []


def queue_group(rec: Recommendation) -> str:
    """The queue group of a case: its decision, except that a case with a record that could not be
    read is never ready to approve: a person checks that record first."""
    if rec.decision is None:
        return "error"
    if rec.decision == "approve" and skipped_records(rec):
        return "check_documents"
    return rec.decision


def queue_key(rec: Recommendation) -> tuple[int, int, str, str]:
    """Group by what to do next; flagged cases on top; oldest first."""
    group = [g for g, _ in QUEUE_GROUPS].index(queue_group(rec))
    return group, 0 if rec.flags else 1, rec.submitted_at or "", rec.case_id


def summarize(recs: list[Recommendation], times_ms: list[float], wall_s: float) -> dict[str, Any]:
    """Counts, turnaround percentiles, throughput and a turnaround histogram."""
    counts = Counter(r.decision or "error" for r in recs)
    reasons = Counter(code for r in recs for code in r.reason_codes)
    ts = sorted(times_ms)

    def pct(p: float) -> float:
        if not ts:
            return 0.0
        return round(ts[min(len(ts) - 1, round(p * (len(ts) - 1)))], 2)

    edges = [25, 50, 100, 200, 500, 1000, 5000]
    hist: dict[str, int] = {}
    for t in ts:
        label = next((f"≤{e}ms" for e in edges if t <= e), f">{edges[-1]}ms")
        hist[label] = hist.get(label, 0) + 1
    return {
        "cases": len(recs),
        "processed": len(recs) - counts.get("error", 0),
        "errors": counts.get("error", 0),
        "decisions": {k: counts.get(k, 0) for k in ("approve", "reject", "need_info")},
        "flagged": sum(1 for r in recs if r.flags),
        "signed_off": sum(1 for r in recs if r.sign_off is not None),
        "documents_to_check": sum(1 for r in recs if queue_group(r) == "check_documents"),
        "records_skipped": sum(len(skipped_records(r)) for r in recs),
        "reason_codes": dict(reasons.most_common()),
        "turnaround_ms": {
            "p50": pct(0.5),
            "p95": pct(0.95),
            "max": round(max(ts), 2) if ts else 0.0,
            "mean": round(statistics.fmean(ts), 2) if ts else 0.0,
        },
        "cases_per_s": round(len(recs) / wall_s, 2) if wall_s > 0 else 0.0,
        "wall_s": round(wall_s, 3),
        "histogram": hist,
    }
