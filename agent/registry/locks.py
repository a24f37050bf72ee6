"""A writer lock as a row of the registry database (``agent.core.locks.WriterLock``), so that
machines sharing a database (and a chroma server) refresh the knowledge base one at a time.

The row names its holder (``pid N on HOST``) and an expiry; the holder renews it every third of
its time to live, so a lock whose holder died (its machine lost, the process killed) expires and
the next writer takes it over. The primary key decides between two writers arriving at once."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from agent.core.locks import LockBusyError, holder_id
from agent.registry.store import Registry
from agent.registry.tables import LockRow

log = logging.getLogger("certreview.locks")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(t: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written as UTC."""
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def describe(row: LockRow) -> str:
    """The holder as the one refused reads it: who, since when, until when unless renewed."""
    since, until = _aware(row.acquired_at), _aware(row.expires_at)
    return f"{row.holder} (since {since:%Y-%m-%d %H:%M:%S} UTC; its lock expires {until:%H:%M:%S} UTC unless renewed)"


class RegistryLock:
    """Named locks in the registry's ``locks`` table; the registry is opened on first use."""

    def __init__(
        self, open_registry: Callable[[], Registry], ttl_s: float, clock: Callable[[], dt.datetime] = _utcnow
    ) -> None:
        self._open = open_registry
        self._registry: Registry | None = None
        self.ttl = dt.timedelta(seconds=ttl_s)
        self.clock = clock
        self.taken_over: str | None = None  # the stale holder a hold replaced, for the caller to say
        self._tokens: dict[str, str] = {}  # name -> the token of this process's hold

    def registry(self) -> Registry:
        """The registry database, opened (and migrated) once."""
        if self._registry is None:
            self._registry = self._open()
        return self._registry

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold lock ``name`` for a block, renewing it meanwhile; LockBusyError naming the holder."""
        reg = self.registry()
        token = secrets.token_hex(16)
        self._acquire(reg, name, token)
        self._tokens[name] = token
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(reg, name, token, stop), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._tokens.pop(name, None)
            with reg.write() as s, s.begin():
                s.execute(delete(LockRow).where(LockRow.name == name, LockRow.token == token))

    def still_held(self, name: str) -> str | None:
        """None while our row is there; else who holds ``name`` now ("nobody" when no row)."""
        with self.registry().read() as s:
            row = s.get(LockRow, name)
            if row is not None and row.token == self._tokens.get(name):
                return None
            return describe(row) if row is not None else "nobody"

    def _acquire(self, reg: Registry, name: str, token: str) -> None:
        now = self.clock()
        try:
            with reg.write() as s, s.begin():
                row = s.get(LockRow, name, with_for_update=True)
                if row is not None:
                    if _aware(row.expires_at) > now:
                        raise LockBusyError(describe(row))
                    self.taken_over = describe(row)
                    # its holder stopped renewing it: died, or lost its machine
                    log.warning("taking over the stale lock %s of %s", name, row.holder)
                    s.delete(row)
                    s.flush()
                s.add(LockRow(name=name, holder=holder_id(), token=token, acquired_at=now, expires_at=now + self.ttl))
        except IntegrityError:  # another writer inserted it between our read and our insert
            with reg.read() as s:
                row = s.get(LockRow, name)
                raise LockBusyError(describe(row) if row is not None else "another process") from None

    def _renew(self, reg: Registry, name: str, token: str, stop: threading.Event) -> None:
        """Push the expiry on while the block runs; a lock taken over meanwhile is not renewed."""
        while not stop.wait(self.ttl.total_seconds() / 3):
            with reg.write() as s, s.begin():
                done = s.execute(
                    update(LockRow)
                    .where(LockRow.name == name, LockRow.token == token)
                    .values(expires_at=self.clock() + self.ttl)
                )
            if getattr(done, "rowcount", 1) == 0:
                log.warning("lock %s was taken over while held", name)
                return
