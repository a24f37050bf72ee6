"""`certreview decide` and `certreview registry …`: the reviewer's sign-off and a certification's
life (CLAIMS.md §1, §2, §7). SQLAlchemy and Alembic are imported inside the commands, so
``certreview --help`` stays light."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.common import EXIT_PARTIAL, JsonOpt, echo_json
from agent.core.i18n import _

if TYPE_CHECKING:
    from agent.core.config import Settings
    from agent.core.deps import Deps
    from agent.registry.store import Registry

registry_app = typer.Typer(
    help="The certification registry: import, events (dynamic exit), show, renewals, export, stats.",
    no_args_is_help=True,
)
events_app = typer.Typer(
    help="Status events from the 经办 feed: death, insurance stopped, moved out.", no_args_is_help=True
)
registry_app.add_typer(events_app, name="events")

OnOpt = Annotated[str | None, typer.Option("--on", help="The date statuses are read on (YYYY-MM-DD; default: today).")]


def _settings() -> Settings:
    from agent.core.config import Settings

    return Settings()


def _on(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        from agent.core.errors import InvalidInputError

        raise InvalidInputError(
            _("--on {value} is not a date", value=repr(value)), _("Use YYYY-MM-DD, e.g. --on 2026-01-31.")
        ) from None


def _open(settings: Settings | None = None) -> Registry:
    from agent.registry.store import open_registry

    return open_registry(settings or _settings())


def _catalog(settings: Settings) -> Any:
    from agent.core.catalog import load_catalog

    return load_catalog(settings.catalog_path)


def registry_exists(settings: Settings) -> bool:
    """A registry to consult: a database URL is set, or the SQLite file exists in the data home."""
    return settings.database_url is not None or (settings.home / "registry.sqlite3").exists()


def attach_registry(deps: Deps) -> Deps:
    """``deps`` with the registry as check 6's certification source when there is one;
    unchanged otherwise, so a review without a registry is today's."""
    if not registry_exists(deps.settings):
        return deps
    from agent.registry.certs import RegistryCertifications

    source = RegistryCertifications(_open(deps.settings))
    return dataclasses.replace(deps, certifications=source, sign_offs=source)


# ---------------------------------------------------------------- sign-off
def decide(
    case_dir: Annotated[Path, typer.Argument(help="The case folder that was reviewed.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve: issues the certification.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject.")] = False,
    need_info: Annotated[bool, typer.Option("--need-info", help="Request more documents.")] = False,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your reviewer id (required).")] = "",
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required when overriding the recommendation).")
    ] = None,
    supersede: Annotated[
        bool, typer.Option("--supersede", help="Replace the case's current decision (needs --reason).")
    ] = False,
    as_json: JsonOpt = False,
    backend: Annotated[str | None, typer.Option("--backend", help="offline (default) or openai.")] = None,
) -> None:
    """Sign off a case: review it as `certreview review` does, then record your decision beside
    the recommendation (its decision and sha256). An override needs --reason; a second decision
    needs --supersede --reason; an approve issues the certification for the catalogue's validity."""
    from agent.core.errors import InvalidInputError
    from agent.records.case import load_case
    from agent.registry.decisions import SignOff, record_decision
    from agent.review.recommend import review_case

    chosen = [d for d, flag in (("approve", approve), ("reject", reject), ("need_info", need_info)) if flag]
    if len(chosen) != 1:
        raise InvalidInputError(_("choose exactly one of --approve, --reject, --need-info"), _("e.g. --approve"))
    if not reviewer.strip():
        raise InvalidInputError(_("no reviewer given"), _("Pass --reviewer ID (your reviewer id)."), field="--reviewer")
    from agent.registry.certs import RegistryCertifications

    deps = _review_deps(backend)
    reg = _open(deps.settings)
    deps = dataclasses.replace(deps, certifications=RegistryCertifications(reg))
    case = load_case(case_dir)
    rec = deps.backend.review(case, deps) if deps.backend is not None else review_case(case, deps)
    sign = SignOff(decision=chosen[0], reviewer=reviewer, reason=reason, supersede=supersede)  # type: ignore[arg-type]
    recorded = record_decision(reg, case.info, rec, sign, catalog=deps.catalog, audit_log=deps.settings.audit_log)
    if as_json:
        echo_json(
            recorded.to_dict() | {"recommendation": {"decision": rec.decision, "reason_codes": rec.reason_codes}}
        )
    else:
        from agent.cli.render import render_recorded

        render_recorded(recorded.to_dict())


def _review_deps(backend: str | None) -> Deps:
    from agent.report.terminal import kb_progress, note
    from agent.review.deps import build_deps

    settings = _settings()
    if backend:
        settings = settings.model_copy(update={"backend": backend})
    with kb_progress() as progress:
        deps = build_deps(settings, progress=progress, on_build=lambda: note(_("No knowledge base yet: building it…")))
    if settings.backend != "offline":
        from agent.llm.backend import make_backend

        deps = make_backend(deps)
    return deps


# ---------------------------------------------------------------- imports
@registry_app.command("import")
def registry_import(
    path: Annotated[Path, typer.Argument(help="certifications.jsonl (CLAIMS.md §1).")],
    as_json: JsonOpt = False,
) -> None:
    """Import existing certifications (from the 经办 system). Importing a line twice changes
    nothing; bad lines are named with their line number and field, the rest imported (exit 5)."""
    from agent.registry.certs import import_certifications

    settings = _settings()
    rep = import_certifications(_open(settings), path, _catalog(settings))
    _report(_("certifications"), rep.to_dict(), as_json, rep.partial)


@events_app.command("import")
def events_import(
    path: Annotated[Path, typer.Argument(help="events.jsonl (CLAIMS.md §2).")],
    as_json: JsonOpt = False,
) -> None:
    """Import status events and apply them in date order: death, insurance_stopped and moved_out
    end the person's certifications valid on that date. An event_id seen before changes nothing;
    events for unknown persons are kept and listed as unmatched; bad lines exit 5."""
    from agent.registry.events import import_events

    rep = import_events(_open(), path)
    _report(_("events"), rep.to_dict(), as_json, rep.partial)


def _report(what: str, rep: dict[str, Any], as_json: bool, partial: bool) -> None:
    if as_json:
        echo_json(rep)
    else:
        from agent.cli.render import render_import

        render_import(what, rep)
    if partial:
        raise typer.Exit(EXIT_PARTIAL)


# ---------------------------------------------------------------- reading
@registry_app.command("show")
def registry_show(
    id_number: Annotated[str, typer.Argument(help="The person's ID number.")],
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A person's certifications (active / expired / exited and why), decisions and events."""
    from agent.core.errors import InvalidInputError
    from agent.registry.queries import show_person

    data = show_person(_open(), id_number.strip(), _on(on))
    if data is None:
        raise InvalidInputError(
            _("the registry holds nothing on {id_number}", id_number=id_number),
            _("Check the number; `certreview registry stats` shows counts."),
        )
    if as_json:
        echo_json(data)
    else:
        from agent.cli.render import render_person

        render_person(data)


def _months(within: str) -> int:
    m = re.fullmatch(r"\s*(\d{1,3})\s*(m|months?)?\s*", within)
    if not m:
        from agent.core.errors import InvalidInputError

        raise InvalidInputError(
            _("--within {value} is not a number of months", value=repr(within)), _("Use e.g. --within 6m.")
        )
    return int(m.group(1))


@registry_app.command("renewals")
def registry_renewals(
    within: Annotated[str, typer.Option("--within", help="Expiring within this many months, e.g. 6m.")] = "6m",
    on: OnOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Active certifications due for renewal (expiring within --within, not yet renewed), oldest first."""
    from agent.registry.queries import renewals

    day, months = _on(on), _months(within)
    total, rows = renewals(_open(), day, months, limit)
    if as_json:
        echo_json({"as_of": day.isoformat(), "within_months": months, "total": total, "renewals": rows})
    else:
        from agent.cli.render import render_renewals

        render_renewals(total, rows, day.isoformat(), months)


@registry_app.command("export")
def registry_export(
    fmt: Annotated[str, typer.Option("--format", help="2503 (national filing), csv or jsonl.")] = "jsonl",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    on: OnOpt = None,
) -> None:
    """Export: `2503` the national 人员慢特病备案 records of active certifications; `csv` and
    `jsonl` every certification (jsonl in the format `registry import` reads)."""
    from agent.core.errors import InvalidInputError
    from agent.registry.queries import export

    if fmt not in ("2503", "csv", "jsonl"):
        raise InvalidInputError(_("unknown export format {fmt}", fmt=repr(fmt)), _("Use --format 2503, csv or jsonl."))
    settings = _settings()
    chunks = export(_open(settings), fmt, _on(on), _catalog(settings))
    if out_file is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    tmp = out_file.with_name(out_file.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
        tmp.replace(out_file)  # a reader never sees half an export
    except OSError as exc:
        raise InvalidInputError(
            _("cannot write {path}: {error}", path=out_file, error=exc.strerror), _("Pass a writable --out path.")
        ) from None


@registry_app.command("stats")
def registry_stats(on: OnOpt = None, as_json: JsonOpt = False) -> None:
    """Counts: persons, certifications by status, decisions and overrides, events."""
    from agent.registry.queries import stats

    data = stats(_open(), _on(on))
    if as_json:
        echo_json(data)
    else:
        from agent.cli.render import render_stats

        render_stats(data)


def eval_agreement(as_json: bool) -> None:
    """`certreview eval --agreement`: AI–human agreement from the recorded sign-offs."""
    from agent.registry.agreement import agreement

    data = agreement(_open())
    if as_json:
        echo_json({"agreement": data})
    else:
        from agent.cli.render import render_agreement

        render_agreement(data)
