"""Transactions: a connection to read, a transaction to write, and one error for both; and
the row locks a write transaction takes on PostgreSQL (:func:`locked`).

Stores open their connections here, so an unreachable or exhausted database becomes
:class:`DatabaseUnavailable` (a 503 for whoever asked) in one place, and never a driver error
that could quote a statement's parameters. A store that connects on the engine itself gets
the same 503 from the security middleware (server/core/security.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.core.problems import DatabaseUnavailable
from server.core.tasks import failure
from server.db.engine import write_turn, writer

__all__ = ["DatabaseUnavailable", "locked", "reading", "writing"]


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads."""
    try:
        async with engine.connect() as conn:
            yield conn
    except (DBAPIError, OSError, PoolTimeout) as error:
        # the class only: a driver message can quote the statement's parameters
        raise DatabaseUnavailable(f"the database cannot be read ({failure(error)})") from None


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    try:
        async with write_turn(engine), writer(engine).begin() as conn:
            yield conn
    except (DBAPIError, OSError, PoolTimeout) as error:
        raise DatabaseUnavailable(f"the database cannot be written ({failure(error)})") from None


def locked(
    conn: AsyncConnection, query: Select[Any], *, skip: bool = False, of: Table | None = None
) -> Select[Any]:
    """``query`` locking the rows it returns (``of``: only that table's), on PostgreSQL;
    ``skip``: passing over rows another transaction holds, so that workers share a queue.
    SQLite has no row locks and needs none: the write transaction (``BEGIN IMMEDIATE``)
    already excludes every other writer."""
    if conn.dialect.name != "postgresql":
        return query
    return query.with_for_update(skip_locked=skip, of=of)
