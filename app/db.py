"""The database engine, sessions, and the per-dialect connection set-up."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from app.config import Settings, get_settings
from app.search.page_snippets import make_page_tables


def create_db_engine(settings: Settings, *, writer: bool = False, reader: bool = False) -> Engine:
    """An engine for settings.database_url; SQLite gets WAL, a busy timeout and foreign keys.

    A `writer` engine takes SQLite's write lock when a transaction begins, so two writers
    queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    A `reader` engine reads settings.reading_url (a replica, when one is configured).
    """
    url = make_url(settings.reading_url if reader and not writer else settings.database_url)
    if url.get_backend_name() != "sqlite":
        # Sessions in UTC: PostgreSQL hands timestamps over in the session's time zone, where
        # a date of year 1 can fall in year 0 (west of UTC) and one of 9999 in year 10000
        # (east of it), which no Python datetime holds.
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=settings.database_pool_size,
            max_overflow=10,
            connect_args={"options": "-c timezone=UTC"},
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A request holds its connection between the worker-thread calls FastAPI makes for it;
    # a pool smaller than the thread pool deadlocks under load (threads wait for connections
    # that threads waiting for a thread hold). SQLite connections are cheap: never wait.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        pool_size=settings.database_pool_size,
        max_overflow=-1,
    )
    cache_kib = settings.sqlite_read_cache_kib if reader and not writer else None
    _configure_sqlite(
        engine, settings.sqlite_busy_timeout_ms, "IMMEDIATE" if writer else "", cache_kib
    )
    return engine


def _configure_sqlite(
    engine: Engine, busy_timeout_ms: int, begin_mode: str, cache_kib: int | None
) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection: Any, record: Any) -> None:
        # Let the pool's BEGIN handling be ours: pysqlite's implicit transactions
        # otherwise defer BEGIN and break SAVEPOINT and WAL read consistency.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        if cache_kib is not None:
            cursor.execute(f"PRAGMA cache_size = -{int(cache_kib)}")  # negative: in KiB
        cursor.close()
        # Case-insensitive filters in every script (app.search.filter.lower_text).
        dbapi_connection.create_function("newsdesk_lower", 1, _lower_any_letter, deterministic=True)
        # Snippets' one-page full-text table, kept for the connection's life.
        make_page_tables(dbapi_connection, record)

    @event.listens_for(engine, "begin")
    def begin(connection: Any) -> None:
        connection.exec_driver_sql(f"BEGIN {begin_mode}")


def _lower_any_letter(value: object) -> object:
    """SQLite's newsdesk_lower: str.lower, as app.search.filter.fold_case folds values."""
    return value.lower() if isinstance(value, str) else value


T = TypeVar("T")

# PostgreSQL's "deadlock detected" and "could not serialize access": the transaction was
# rolled back only because another one ran at the same time, so running it again succeeds.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(error: BaseException) -> bool:
    """True for a database error that running the whole transaction again can clear."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, DBAPIError) and sqlstate in RETRYABLE_SQLSTATES


# SQLite's SQLITE_BUSY and SQLITE_LOCKED (primary result codes).
_SQLITE_LOCK_CODES = frozenset({5, 6})


def is_lock_timeout(error: BaseException) -> bool:
    """True when SQLite gave up waiting (the busy timeout) for a lock another process holds."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(error, DBAPIError) and code is not None and code & 0xFF in _SQLITE_LOCK_CODES


def run_retrying(transaction: Callable[[], T], attempts: int = 8) -> T:
    """Run transaction(), again after a short random pause when a concurrent one broke it."""
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except DBAPIError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(random.uniform(0.05, 0.25) * attempt)
    raise AssertionError("unreachable")


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine the API reads with (settings.reading_url)."""
    return create_db_engine(get_settings(), reader=True)


def forget_engine() -> None:
    """Close get_engine's engine, if this process made it, and forget it: a process about
    to fork workers must not hand them its connections."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


def session_engine(session: Session) -> Engine:
    """The engine behind a session, also when the session is bound to one of its connections."""
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


async def get_session() -> AsyncIterator[Session]:
    """A session per request (FastAPI dependency), made on the event loop: a session does
    no I/O before its first statement."""
    session = Session(get_engine())
    try:
        yield session
    finally:
        await close_session(session)


async def close_session(session: Session) -> None:
    """Close a request's session, its connection back to the pool.

    On SQLite that is a rollback in process memory, cheaper than a trip to a worker thread.
    PostgreSQL's is a round trip to the server, kept off the event loop in a thread of its
    own (as FastAPI closes a plain generator's), so a full thread pool can't keep a
    connection from coming back.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.close()
    else:
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


def alembic_config(database_url: str) -> Any:
    """An Alembic config for the project's migrations, aimed at database_url."""
    from alembic.config import Config

    from app.config import PROJECT_ROOT

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Bring the schema at database_url up to `revision` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str = "base") -> None:
    """Take the schema at database_url down to `revision`."""
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
