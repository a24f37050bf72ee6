"""One writer at a time across processes or machines, as a protocol: the knowledge base (below the
registry) asks for a lock by name, and the command line injects where it lives — a file in the
data home on one machine, a row in the shared registry database when several machines share one."""

from __future__ import annotations

import os
import socket
from contextlib import AbstractContextManager
from typing import Protocol

from agent.core.errors import CertreviewError


class LockBusyError(CertreviewError):
    """Another process holds the named lock; ``holder`` says who (and, for a lock row, since when)."""

    exit_code = 75  # EX_TEMPFAIL: try again later

    def __init__(self, holder: str) -> None:
        super().__init__(f"the lock is held by {holder}", "Wait for that process to finish, then try again.")
        self.holder = holder


class WriterLock(Protocol):
    """A named mutual-exclusion lock whose busy error names its holder."""

    def hold(self, name: str) -> AbstractContextManager[None]:
        """Hold lock ``name`` for a block; LockBusyError at once when another process holds it."""
        ...

    def still_held(self, name: str) -> str | None:
        """None while this process still holds ``name``; else who took it over (a holder silent
        past the expiry loses its lock): checked before an irreversible step such as a switch."""
        ...


def holder_id() -> str:
    """Who this process is, as a busy lock names it to the one waiting: ``pid N on HOST``."""
    return f"pid {os.getpid()} on {socket.gethostname()}"
