"""``certreview supervise``: the smart-supervision rules (SV01–SV09, knowledge_base/supervision.yaml)
over a claims file and the registry. DuckDB, Jinja and SQLAlchemy are imported inside the command."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import EXIT_PARTIAL
from agent.core.i18n import N_, _


class EngineChoice(str, Enum):
    """Where the rule SQL runs."""

    duckdb = "duckdb"
    spark = "spark"


def supervise_cmd(
    claims: Annotated[Path, typer.Argument(help="claims.jsonl (shared/CLAIMS.md §3).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: one flag per line, then the summary by rule.")
    ] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report (by rule, by person, timelines) here.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write flags.jsonl, summary.json and report.html into this folder.")
    ] = None,
    engine: Annotated[
        EngineChoice, typer.Option("--engine", help="duckdb (embedded, default) or spark (local mode; [spark] extra).")
    ] = EngineChoice.duckdb,
) -> None:
    """Flag what looks wrong in 门特 claims — claims without a valid certification, after death or
    exit, drugs not for the disease, oversupply, early refills, many hospitals, two cities in one
    day, duplicate classes — each flag with its rule, claims, Chinese explanation and clause.

    Runs against the registry (`certreview registry import`, `registry events import` first). Bad
    lines are named with their line number and field and skipped (exit 5); output paths are checked
    before any work."""
    import contextlib

    from agent.report.outputs import check_dir_target, check_file_targets, hold_dir

    check_file_targets({"--html": html})
    if out is not None:
        check_dir_target(out, "--out")
    with hold_dir(out) if out is not None else contextlib.nullcontext():
        _supervise(claims, as_json, html, out, engine.value)


def _supervise(claims: Path, as_json: bool, html: Path | None, out: Path | None, engine: str) -> None:
    import json

    from agent.cli.registry import registry_exists
    from agent.core.catalog import load_catalog
    from agent.core.config import Settings
    from agent.core.errors import CertreviewError, InvalidInputError
    from agent.core.items import items_path, load_items
    from agent.core.supervision import load_rules, rules_path
    from agent.registry.store import open_registry
    from agent.report.outputs import publish_outputs, write_file
    from agent.report.supervision import jsonl, render_supervision, report_bad_lines, supervision_html
    from agent.supervise.reader import read_claims_file
    from agent.supervise.run import registry_rows, supervise

    settings = Settings()
    rules = load_rules(rules_path(settings.catalog_path))
    items = load_items(items_path(settings.catalog_path))
    catalog = load_catalog(settings.catalog_path)
    if not registry_exists(settings):
        raise InvalidInputError(
            _("no registry in {home} to supervise against", home=settings.home),
            _(
                "Import the certifications first: certreview registry import certifications.jsonl "
                "(and certreview registry events import events.jsonl)."
            ),
        )
    read = read_claims_file(claims)
    reg = open_registry(settings)
    try:
        rows = registry_rows(reg)
    finally:
        reg.close()
    sup = supervise(read, rows, items, rules, engine, catalog)
    paths: dict[str, Path] = {}
    write_error: CertreviewError | None = None
    page = supervision_html(sup) if html is not None or out is not None else ""  # rendered once for both
    if html is not None:
        paths["report"] = write_file(html, page)
    if out is not None:
        files = {
            "flags.jsonl": ("".join(json.dumps(f.to_dict(), ensure_ascii=False) + "\n" for f in sup.flags), "utf-8"),
            "summary.json": (json.dumps(sup.summary(), ensure_ascii=False, indent=2), "utf-8"),
            "report.html": (page, "utf-8"),
        }
        failure = N_("--out {path}: could not write the supervision report ({error})")
        try:
            paths |= {f"--out {k}": v for k, v in publish_outputs(out, files, failure).items()}
        except CertreviewError as exc:  # checked up front, but a full disk can still fail: print, then report
            write_error = exc
    if as_json:
        sys.stdout.write(jsonl(sup))
        report_bad_lines(sup)
    else:
        render_supervision(sup, paths)
    if write_error is not None:
        raise write_error
    if sup.bad_lines:
        raise typer.Exit(EXIT_PARTIAL)
