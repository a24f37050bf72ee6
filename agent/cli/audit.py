"""``certreview audit``: verify and archive the append-only audit log of recommendations."""

from __future__ import annotations

import typer

from agent.cli.common import get_settings
from agent.core.i18n import _

audit_app = typer.Typer(help="The append-only audit log of recommendations.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the keyed hash chain and its anchors: an edited, removed, reordered, torn, truncated or
    deleted entry, bad bytes and a damaged head are named with the line; exit code 1."""
    from rich.markup import escape

    from agent.registry import audit as audit_log
    from agent.report.terminal import err, out

    settings = get_settings()
    res = audit_log.verify(settings.audit_log)
    if res.ok:
        out.print(
            _("[green]ok[/green]: {n} audit entries, chain intact ({log}).", n=res.entries, log=settings.audit_log)
        )
        return
    for p in res.problems:
        err.print(_("[red]tampered:[/red] {problem}", problem=escape(p)), soft_wrap=True)
    err.print(
        _(
            "[yellow]hint:[/yellow] keep a copy of the data home for investigation; "
            "`certreview audit archive` sets the log aside and starts a new chain."
        ),
        soft_wrap=True,
    )
    raise typer.Exit(1)


@audit_app.command("archive")
def audit_archive() -> None:
    """Move the audit log (damaged or not) into audit-archive/ in the data home and start a new
    chain whose first entry names the archive, its sha256 and any damage found."""
    from rich.markup import escape

    from agent.registry import audit as audit_log
    from agent.report.terminal import out

    settings = get_settings()
    dest, problems = audit_log.archive(settings.audit_log)
    state = f"damaged: {problems[0]}" if problems else "intact"
    out.print(
        _("archived the audit log ({state}) to {dest}; a new chain starts.", state=escape(state), dest=dest),
        soft_wrap=True,
    )
