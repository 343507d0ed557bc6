"""Engines for SQLite (the embedded default) and PostgreSQL (production), set up alike.

``create_engine(url)`` returns an :class:`AsyncEngine`; :func:`writer` gives the same engine
marked for writing, which on SQLite opens its transactions with ``BEGIN IMMEDIATE``.

Why ``BEGIN IMMEDIATE``: Python's sqlite3 opens transactions ``DEFERRED``, which takes the
write lock only at the first write. Two such transactions can both read, then both try to
upgrade, and one fails with "database is locked" no matter the busy timeout. An immediate
transaction takes the write lock at ``BEGIN``, waiting (busy timeout) its turn, so a
read-check-insert sequence inside it is serialised against every other writer, in this
process or another.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool, StaticPool

#: how long an SQLite writer waits for the write lock before giving up (milliseconds)
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
#: the execution option that makes an SQLite transaction ``BEGIN IMMEDIATE``
_WRITE: Final = "balie_write"
#: how long :func:`close` waits for connections still in use (a last write finishing)
IN_USE_WAIT_SECONDS: Final = 5.0

log = logging.getLogger("balie.db")


def create_engine(
    url: str | URL, *, pool_size: int = 5, max_overflow: int = 10, timeout: float = 5.0
) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    SQL parameters are never rendered into logs or error messages (``hide_parameters``):
    an appointment insert carries the resident's e-mail address.

    ``timeout`` bounds, on PostgreSQL, connecting, each statement (on the client and on the
    server) and the wait for a pooled connection: behind a network partition that swallows
    packets (the TCP connection stays, nothing answers) every request fails within seconds
    as unavailable, instead of hanging until the partition heals.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed)
    elif backend == "postgresql":
        engine = _postgresql_engine(parsed, pool_size, max_overflow, timeout)
    else:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    # every connection of either backend opens here: refused once closed, errors made alike
    event.listen(engine.sync_engine, "do_connect", _connect)
    return engine


def _postgresql_engine(url: URL, pool_size: int, max_overflow: int, timeout: float) -> AsyncEngine:
    if url.get_driver_name() != "asyncpg":
        raise ValueError(f"PostgreSQL needs the asyncpg driver: {url.drivername!r}")
    return create_async_engine(
        url,
        hide_parameters=True,
        # A node may outlive a database fail-over; check pooled connections first.
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=timeout,
        connect_args={
            "timeout": timeout,
            "command_timeout": timeout,
            "server_settings": {"statement_timeout": str(int(timeout * 1000))},
        },
    )


def _connect(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Open a driver connection, unless the engine was closed (:func:`close`); a server that
    cannot be reached is an ``OperationalError``.

    asyncpg's connect raises the socket's own errors: a refused port is a
    ``ConnectionError``, but a name that does not resolve (a container's name while it
    restarts) or a host without a route is a bare ``OSError``, which SQLAlchemy passes on
    unwrapped. As the driver's ``OperationalError`` every store, whether it connects through
    db/tx.py or on the engine itself, meets the one error that means "the database is away"
    (``sqlalchemy.exc.OperationalError``, a 503), never a 500 with a traceback.
    """
    dbapi = dialect.loaded_dbapi
    if dialect in _closed:
        raise dbapi.OperationalError("the database is closed: this node is stopping")
    try:
        return dbapi.connect(*cargs, **cparams)
    except OSError as error:  # TimeoutError, refused, unresolvable, unreachable
        # the type only, as every "unavailable" line says it; the cause keeps the message
        raise dbapi.OperationalError(
            f"the database cannot be reached ({type(error).__name__})", error
        ) from error


#: the dialects (one per engine) of engines that :func:`close` closed
_closed: weakref.WeakSet[Dialect] = weakref.WeakSet()


async def close(engine: AsyncEngine, *, wait: float = IN_USE_WAIT_SECONDS) -> None:
    """Close ``engine`` for good: refuse new connections, let those in use come back (for up
    to ``wait`` seconds), then close them all.

    ``AsyncEngine.dispose`` alone closes only the idle connections. One in use at that
    moment goes back to a pool that nothing closes any more, and one asked for afterwards
    opens a new pool; both are left to the garbage collector, which cannot close an async
    driver's connection: aiosqlite warns that it was never closed, in whatever runs next.
    """
    _closed.add(engine.sync_engine.dialect)
    pool = engine.pool
    if isinstance(pool, QueuePool):  # a StaticPool (in memory) has its one connection only
        with suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await _all_back(pool)
        if pool.checkedout():
            log.warning("closing the database with %d connections in use", pool.checkedout())
    await engine.dispose()


async def _all_back(pool: QueuePool) -> None:
    returned = asyncio.Event()

    def checked_in(*_args: Any) -> None:
        # the pool counts the connection back right after this event, before anything awaits
        returned.set()

    event.listen(pool, "checkin", checked_in)
    try:
        while pool.checkedout():
            returned.clear()
            await returned.wait()
    finally:
        event.remove(pool, "checkin", checked_in)


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool), with transactions that write: immediate on SQLite."""
    return engine.execution_options(**{_WRITE: True})


@asynccontextmanager
async def write_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait for this process's turn to write, on SQLite; at once on PostgreSQL.

    SQLite lets one writer in at a time and makes the others wait in its busy handler, which
    sleeps (1, 2, 5, 10 … 100 ms) and tries again: under a burst of writers in one process
    most of them sleep while the lock is free. Queueing them here instead hands the lock on
    as soon as it is let go; the busy handler still orders this process against others.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    loops = _turns.setdefault(engine.sync_engine, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    turn = loops.get(loop)
    if turn is None:
        turn = loops[loop] = asyncio.Lock()
    async with turn:
        yield


#: one queue of writers per SQLite engine and event loop (:func:`write_turn`), forgotten
#: with either
_turns: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.get_driver_name() != "aiosqlite":
        raise ValueError(f"SQLite needs the aiosqlite driver: {url.drivername!r}")
    # aiosqlite logs every statement *with its parameters* at DEBUG, so a debug log level
    # would write residents' e-mail addresses to the log. Its debug lines say nothing that
    # SQLAlchemy's own (parameter-free, see hide_parameters) logging does not.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    database = url.database or ""
    options: dict[str, Any] = {}
    if database in ("", ":memory:"):
        # One in-memory database exists per connection: share a single one.
        options["poolclass"] = StaticPool
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **options,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. synchronous=FULL: a commit is on disk before
        # it returns (NORMAL could lose the last commits on power loss, i.e. a booking that
        # the resident was told about).
        _enable_wal(cursor)
        for pragma in (
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _enable_wal(cursor: Any) -> None:
    # Turning a new file to WAL takes an exclusive lock, and SQLite answers "database is
    # locked" at once, without its busy wait, while another connection is writing (two
    # processes starting on one new file). Retry within the busy timeout.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # only in this race, on the first connections to a new file
