"""Running the workbench: who may reach it (loopback, or reviewer accounts), the uvicorn server
(its own access log off: ours names the path only), and a server in a thread on a free loopback
port for tests and the bench."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.core.errors import InvalidInputError
from agent.core.i18n import _
from agent.web.accounts import ACCOUNTS_FILE, Accounts, AccountsRequiredError
from agent.web.security import is_loopback


def check_exposure(host: str, home: Path, reviewer: str | None) -> Accounts | None:
    """The accounts that guard the pages, or None for loopback without accounts (``reviewer``
    signs). AccountsRequiredError when ``host`` is reachable from other machines and nobody
    could log in; InvalidInputError when ``--reviewer`` is given where logins name the reviewer."""
    accounts = Accounts(home)
    if accounts.users:
        if reviewer:
            raise InvalidInputError(
                _("--reviewer is not used when reviewer accounts exist: each reviewer logs in"),
                _("Leave out --reviewer; the name recorded on a decision is the login."),
                field="--reviewer",
            )
        return accounts
    if not is_loopback(host):
        raise AccountsRequiredError(
            _(
                "--host {host} would let other machines reach the workbench, and there are no reviewer "
                "accounts ({path})",
                host=host,
                path=home / ACCOUNTS_FILE,
            ),
            _("Add one per reviewer with `certreview users add NAME` (they log in), or serve on 127.0.0.1."),
        )
    return None


def make_server(app: Any, host: str, port: int, **ssl: Any) -> Any:
    """A uvicorn server for ``app`` (no access log of its own, no Server header)."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, access_log=False, server_header=False, log_config=None, **ssl
    )
    return uvicorn.Server(config)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_in_thread(app: Any, timeout_s: float = 20.0) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on a free loopback port in a thread; yields its base URL
    and stops the server on exit."""
    server = make_server(app, "127.0.0.1", free_port())
    thread = threading.Thread(target=server.run, daemon=True, name="workbench")
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(_("the workbench server did not start"))
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
