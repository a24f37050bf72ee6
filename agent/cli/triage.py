"""``certreview triage``: a batch into a ranked queue (``triage BATCH``, the default command, also
one slice of it with ``--shard i/n``), and ``triage merge`` joining shard outputs into one queue."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from agent.cli.common import EXIT_PARTIAL, BackendOpt, get_deps

DEFAULT = "batch"


class _DefaultGroup(TyperGroup):
    """``triage BATCH …`` runs the batch command: any first word that is not a subcommand (a
    folder, an option, --help) goes to it, so ``triage merge`` can live beside it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [DEFAULT, *args]
        return super().parse_args(ctx, args)


triage_app = typer.Typer(
    cls=_DefaultGroup,
    help="Review a batch into a ranked queue (`triage BATCH`), or merge shard outputs (`triage merge`).",
)


@triage_app.command(DEFAULT)
def triage(
    batch_dir: Annotated[Path, typer.Argument(help="A folder of case folders.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: one Recommendation per case, then a summary.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write results.jsonl, results.csv and report.html here.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=32, help="Worker processes (offline) or cases at once (openai: model calls)."
        ),
    ] = 1,
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="Process slice i of n (by a sha256 of the case id); merge with `triage merge`."),
    ] = None,
    backend: BackendOpt = None,
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Append results to the audit log.")] = True,
) -> None:
    """Review every case of a batch into a ranked queue: ready to approve, documents to check (a
    record could not be read), reject to confirm, documents to request (flagged cases first, oldest
    first). A case that cannot be read gets an error line naming the field, and the batch goes on.

    --shard i/n takes a stable slice of the batch (n machines, no overlap, nothing missed) and
    writes shard.json beside the results; `certreview triage merge DIR… --out DIR` joins them.

    --out is checked before any case is processed and held for the run (a second run into it is
    refused, exit 75). Exit code 5 when any case failed or any record was skipped; 6 when the results
    were written but the audit log is damaged and did not record them."""
    from agent.report.outputs import check_dir_target, hold_dir
    from agent.review.shard import parse_shard, select
    from agent.review.triage import case_folders

    part = parse_shard(shard) if shard is not None else None
    folders = case_folders(batch_dir)
    if out is not None:
        check_dir_target(out, "--out", outside=batch_dir)
    with hold_dir(out) if out is not None else contextlib.nullcontext():
        mine = select(folders, part)
        deps = get_deps(backend, registry=True, concurrency=workers)  # workers attach the registry themselves
        extra = None
        if part is not None:
            from agent.review.shard import shard_info

            info = shard_info(folders, mine, part, deps.kb.version, str(deps.kb.manifest["content_hash"]))
            extra = {"shard.json": json.dumps(info, ensure_ascii=False)}
        recs, summary = _run(mine, deps, workers)
        _publish(recs, summary, deps, as_json, out, extra, audit)


def _run(folders: list[Path], deps: Any, workers: int) -> tuple[list[Any], dict[str, Any]]:
    """Every case reviewed (with a progress bar on a terminal), and the summary."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.cli.registry import attach_registry
    from agent.report.terminal import err
    from agent.review.triage import run_batch, summarize

    recs, times = [], []
    t0 = time.perf_counter()
    bar = Progress(
        TextColumn("审核 triage"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("triage", total=len(folders))
        for rec, ms in run_batch(folders, deps, workers=workers, attach=attach_registry):
            recs.append(rec)
            times.append(ms)
            bar.advance(task)
    return recs, summarize(recs, times, time.perf_counter() - t0)


def _publish(
    recs: list[Any],
    summary: dict[str, Any],
    deps: Any,
    as_json: bool,
    out: Path | None,
    extra: dict[str, str] | None,
    audit: bool,
) -> None:
    """Write, print, audit; the exit code says whether anything was skipped."""
    from agent.core.errors import CertreviewError
    from agent.registry import audit as audit_log
    from agent.report.terminal import render_triage

    paths, write_error = None, None
    if out:
        from agent.report.writers import write_batch

        try:
            paths = write_batch(out, recs, summary, deps.kb.version, extra)
        except CertreviewError as exc:  # checked up front, but a full disk can still fail: print, then report
            write_error = exc
    if as_json:
        from agent.report.writers import jsonl

        sys.stdout.write(jsonl(recs, summary))
    else:
        render_triage(recs, summary, paths)
    if write_error is not None:
        raise write_error  # not audited: the files the log would vouch for were not written
    if audit:  # after the results are out, as in `review`
        audit_log.append(deps.settings.audit_log, recs)
    if summary["errors"] or summary["records_skipped"]:
        raise typer.Exit(EXIT_PARTIAL)


@triage_app.command("merge")
def merge(
    shard_dirs: Annotated[list[Path], typer.Argument(help="The --out folders of every `triage --shard i/n`.")],
    out: Annotated[Path, typer.Option("--out", help="Write the merged results.jsonl, results.csv, report.html here.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the merged JSON Lines.")] = False,
) -> None:
    """Merge the outputs of `triage BATCH --shard i/n` (every i, one batch, one knowledge-base
    version) into the one queue a single machine would have written. Shards of another batch or
    knowledge base, given twice or missing are refused by name (exit 2) before anything is written."""
    from agent.report.merge import merge_shards
    from agent.report.outputs import check_dir_target, hold_dir
    from agent.report.terminal import render_triage
    from agent.report.writers import jsonl, write_batch

    check_dir_target(out, "--out")
    recs, summary, kb_version = merge_shards(shard_dirs)
    with hold_dir(out):
        paths = write_batch(out, recs, summary, kb_version)
    if as_json:
        sys.stdout.write(jsonl(recs, summary))
    else:
        render_triage(recs, summary, paths)
    if summary["errors"] or summary["records_skipped"]:
        raise typer.Exit(EXIT_PARTIAL)
