"""`certreview serve` (the reviewer's workbench) and `certreview users …` (its accounts). Starlette
and uvicorn are imported inside the commands, so ``certreview --help`` stays light."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import get_settings
from agent.core.i18n import _

if TYPE_CHECKING:
    from agent.core.deps import Deps
    from agent.registry.store import Registry
    from agent.web.batch import Batch

WATCH_S = 2.0  # how often the served folders are looked at for changes

users_app = typer.Typer(
    help="Reviewer accounts of the workbench (needed to serve beyond 127.0.0.1).", no_args_is_help=True
)


def serve(
    batch_dirs: Annotated[list[Path], typer.Argument(help="Folders of case folders (or case folders).")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback needs reviewer accounts.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who signs off (loopback without accounts; else the login).")
    ] = None,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM).")] = None,
) -> None:
    """Serve the reviewer's workbench: the ranked queue, each case with its evidence highlighted in
    the records, sign-off with the rules of `decide`, renewals due and a person's registry file.
    The batch is reviewed once at start; a case is reviewed again when its folder changes."""
    import logging

    from agent.cli.registry import _open
    from agent.core.errors import InvalidInputError
    from agent.review.triage import case_folders
    from agent.web.server import check_exposure

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise InvalidInputError(
            _("--ssl-certfile and --ssl-keyfile go together"),
            _("Pass both (PEM files), or neither."),
            field="--ssl-keyfile",
        )
    settings = get_settings()
    accounts = check_exposure(host, settings.home, reviewer)  # before any work: a refusal costs nothing
    for d in batch_dirs:
        case_folders(d)  # a missing or empty folder is named now, not after the others were reviewed
    from agent.cli.common import get_deps

    deps = get_deps()
    batch = _load(batch_dirs, deps, _open(deps.settings))
    batch.watch(WATCH_S)  # changed folders are found in the background, not on a page load
    from agent.web.app import WebConfig, create_app
    from agent.web.server import make_server

    https = ssl_certfile is not None
    app = create_app(WebConfig(batch=batch, accounts=accounts, reviewer=reviewer, https=https))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    who = (
        _("logins: {names}", names=", ".join(accounts.names()))
        if accounts
        else _("reviewer: {name}", name=reviewer or _("none (read-only)"))
    )
    url = f"{'https' if https else 'http'}://{host if ':' not in host else f'[{host}]'}:{port}/"
    serving = _("Serving {n} cases on {url} ({who}). Ctrl-C stops.", n=len(batch.entries), url=url, who=who)
    sys.stderr.write(serving + "\n")
    if accounts and not https:
        note = _("Note: without --ssl-certfile/--ssl-keyfile, passwords cross the network unencrypted.")
        sys.stderr.write(note + "\n")
    ssl = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if https else {}
    make_server(app, host, port, **ssl).run()


def _load(batch_dirs: list[Path], deps: Deps, reg: Registry) -> Batch:
    """The batch reviewed once, with a progress bar on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.report.terminal import err
    from agent.web.batch import Batch

    batch = Batch(batch_dirs, deps, reg)
    bar = Progress(
        TextColumn("审核 reviewing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )  # fmt: skip
    with bar:
        task = bar.add_task("review", total=None)
        batch.load(lambda done, total: bar.update(task, completed=done, total=total))
    return batch


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The reviewer's name (recorded on their decisions).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Add a reviewer account (scrypt-hashed password in the data home's reviewers.json, mode 0600)."""
    from agent.web.accounts import Accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(_("Password for {name}", name=name), hide_input=True, confirmation_prompt=True)
    accounts = Accounts(get_settings().home)
    accounts.add(name, password)
    sys.stderr.write(_("Added reviewer {name} ({path}).", name=name, path=accounts.path) + "\n")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="The reviewer's name.")]) -> None:
    """Remove a reviewer account (their recorded decisions stay)."""
    from agent.web.accounts import Accounts

    Accounts(get_settings().home).remove(name)
    sys.stderr.write(_("Removed reviewer {name}.", name=name) + "\n")


@users_app.command("list")
def users_list() -> None:
    """The reviewer accounts, one name a line."""
    from agent.web.accounts import Accounts

    for name in Accounts(get_settings().home).names():
        sys.stdout.write(name + "\n")
