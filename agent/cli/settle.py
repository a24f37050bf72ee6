"""`certreview settle`: pay certified outpatient claims by the reference policy (CLAIMS.md §4)
against the registry's certifications, the accumulators kept in the registry. SQLAlchemy and the
engine are imported inside the command, so ``certreview --help`` stays light."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.common import EXIT_PARTIAL, get_settings
from agent.core.i18n import _


def _line_count(path: Path) -> int:
    """Lines of the file, for the progress bar (0 when it cannot be read: the reader says why)."""
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def _progress() -> Any:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.report.terminal import err

    columns = (TextColumn("结算 settle"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=err, transient=True, disable=not err.is_terminal)


def settle_cmd(
    claims: Annotated[Path, typer.Argument(help="claims.jsonl (CLAIMS.md §3).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: one result per claim, then a summary.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write settlement.jsonl, settlement.csv and an HTML page per person-year here."),
    ] = None,
    resettle: Annotated[
        bool, typer.Option("--resettle", help="Recompute the whole year, in order, of each person in the file.")
    ] = False,
) -> None:
    """Settle each claim: what the fund pays and why (in scope, 乙类先行自付, deductible, ratio,
    limit, reason codes and clauses), the deductible and limits continuing from earlier files. A
    claim settled before returns its stored result unless --resettle. Bad lines are named with
    their line number and field and skipped (exit 5)."""
    from agent.core.catalog import load_catalog
    from agent.core.errors import CertreviewError
    from agent.core.items import items_path, load_items
    from agent.core.settlement import load_settlement, settlement_path
    from agent.registry.store import open_registry
    from agent.report.outputs import check_dir_target, hold_dir
    from agent.report.settlement import jsonl, render_settlement, write_settlement
    from agent.report.terminal import err
    from agent.settle.service import settle_file

    if out is not None:
        check_dir_target(out, "--out")  # before any work: a bad path loses nothing
    settings = get_settings()
    catalog = load_catalog(settings.catalog_path)
    table = load_items(items_path(settings.catalog_path))
    policy = load_settlement(settlement_path(settings.catalog_path))
    reg = open_registry(settings)
    bar = _progress()
    with hold_dir(out) if out is not None else contextlib.nullcontext(), bar:
        task = bar.add_task("settle", total=_line_count(claims) if err.is_terminal else None)
        run = settle_file(
            reg, claims, policy, table, catalog, resettle=resettle, advance=lambda n: bar.advance(task, n)
        )
        reg.close()
        paths, write_error = None, None
        try:  # checked up front, but a full disk can still fail: print the results (stored already), then report
            paths = write_settlement(out, run.results, run.claims, run.summary, policy, run.used) if out else None
        except CertreviewError as exc:
            write_error = exc
    if as_json:
        sys.stdout.write(jsonl(run.results, run.summary))
        for b in run.bad:
            err.print(_("skipped {line}", line=b), soft_wrap=True, markup=False, highlight=False)
    else:
        render_settlement(run.results, run.summary, run.bad)
        for k, p in (paths or {}).items():
            err.print(_("wrote {name}: {path}", name=k, path=p), markup=False, highlight=False)
    if write_error is not None:
        raise write_error
    if run.partial:
        raise typer.Exit(EXIT_PARTIAL)
