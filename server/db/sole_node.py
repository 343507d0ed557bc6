"""One serving node per database, unless a bus (Redis) carries rooms between nodes.

Without Redis a call's live state (rooms, waiting room, seats held for resume) lives in the
memory of the node that holds its sockets. Two such nodes on one database would split a room
without a word: the resident waits on one node, the specialist's "admit" on the other
answers ``unknown-peer``. So a serving node claims its database for as long as it runs, and
a second one refuses to start, naming why (docs/deployment.md). With Redis
(``BALIE_REDIS_URL``) nodes share the database by design and take turns only to migrate it
(:func:`migration_turn`).

PostgreSQL: a session-level advisory lock on a connection of its own; the server drops it
when that connection ends, also when the node is killed. SQLite: an exclusive ``flock`` on a
file beside the database file, which the kernel drops when the process ends. An in-memory
SQLite database belongs to one process and needs no claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.config import ConfigError

#: the advisory lock's key: a fixed 64-bit number no other application of the database uses
LOCK_KEY: Final = int.from_bytes(
    hashlib.blake2b(b"balie:sole-node", digest_size=8).digest(), "big", signed=True
)
#: the lock nodes of a cluster take in turn to bring the schema to head
MIGRATION_KEY: Final = int.from_bytes(
    hashlib.blake2b(b"balie:migration", digest_size=8).digest(), "big", signed=True
)
#: beside ``balie.db``: ``balie.db.node-lock``
LOCK_SUFFIX: Final = ".node-lock"


class AnotherNodeRunning(ConfigError):
    """Another Balie node serves this database (a deployment mistake, so a ConfigError)."""


@contextlib.asynccontextmanager
async def sole_node(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the database for this node while the context runs, or raise
    :class:`AnotherNodeRunning` at once."""
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with _file_lock(Path(database + LOCK_SUFFIX)):
        yield


@contextlib.asynccontextmanager
async def migration_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait for this node's turn to migrate the shared PostgreSQL database (no-op elsewhere:
    SQLite is one node's by :func:`sole_node`)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_KEY})
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a lost connection has dropped it already
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_KEY}
                )


@contextlib.asynccontextmanager
async def _advisory_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    # autocommit: the lock belongs to the session, and an open transaction would sit "idle in
    # transaction" for the node's whole life
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
        )
        if not taken:
            raise AnotherNodeRunning(
                "another Balie node is serving this PostgreSQL database "
                f"({engine.url.render_as_string(hide_password=True)}); Balie runs one node "
                "per database: stop the other node first"
            )
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a lost connection has dropped it already
                await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            raise AnotherNodeRunning(
                f"another Balie node (process {holder}) is serving the database in "
                f"{path.parent}; Balie runs one node per database: stop the other node "
                "first, or give this one its own BALIE_DATA_DIR"
            ) from None
        # who holds it, for the message above; the lock, not the file, is what counts
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
