"""Opening the registry: an engine on ``Settings.registry_url`` (SQLite in the data home by
default, PostgreSQL through psycopg 3 when ``CERTREVIEW_DATABASE_URL`` says so), migrated to the
newest schema by the shipped Alembic scripts before first use."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from agent.core.config import Settings
from agent.core.i18n import N_, _
from agent.registry.errors import RegistryError

MIGRATIONS = Path(__file__).with_name("migrations")
_HINT_URL = N_("Set CERTREVIEW_DATABASE_URL to sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB, or unset it.")


WRITE_LOCK = 7150014  # the advisory lock every PostgreSQL write transaction takes (see _pg_writers)


def _pg_writers(engine: Engine) -> None:
    """Write transactions take one advisory lock up front, as SQLite's BEGIN IMMEDIATE does: the
    check-then-insert of a person or a certification by two machines at once would otherwise
    violate a primary key under READ COMMITTED (writes are reviewer-paced or bulk imports, so
    serialising them costs nothing that matters; reads never wait)."""

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL so readers never wait for the writer; foreign keys on; writes take the lock up front
    (BEGIN IMMEDIATE) so two writers queue instead of failing on a stale snapshot."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


@contextlib.contextmanager
def _migration_lock(url: str, engine: Engine) -> Iterator[None]:
    """One process migrates at a time (two first opens of a fresh database would race)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        with open(u.database + ".lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    yield


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7150013)"))  # serialise concurrent migrations
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Registry:
    """An open registry: sessions for reading and for writing."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(write=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def read(self) -> Session:
        """A session for queries."""
        return self._read()

    def write(self) -> Session:
        """A session whose transaction holds the write lock from its start (on SQLite)."""
        return self._write()

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def _engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError:
        raise RegistryError(_("not a database URL: {url}", url=repr(url)), _(_HINT_URL)) from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    if backend == "postgresql":
        if u.get_driver_name() != "psycopg":
            raise RegistryError(
                _("unsupported PostgreSQL driver {driver}", driver=repr(u.drivername)), _("Use postgresql+psycopg://…")
            )
        engine = create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        _pg_writers(engine)
        return engine
    raise RegistryError(
        _("unsupported database {backend} in CERTREVIEW_DATABASE_URL", backend=repr(backend)), _(_HINT_URL)
    )


def open_registry(settings: Settings) -> Registry:
    """Open (creating and migrating if needed) the registry database ``settings`` name."""
    url = settings.registry_url
    engine = _engine(url)
    try:
        with _migration_lock(url, engine):
            _upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise RegistryError(
            _("cannot open the registry database {where}: {reason}", where=where, reason=reason), _(_HINT_URL)
        ) from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise RegistryError(
            _("cannot migrate the registry database: {error}", error=type(exc).__name__), _(_HINT_URL)
        ) from None
    return Registry(url, engine)
