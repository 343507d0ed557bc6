"""Transactions: a connection to read, a transaction to write, and one error for both.

Every store in Balie opens its connections here, so an unreachable or exhausted database
becomes :class:`DatabaseUnavailable` (a 503 for whoever asked) in one place, and never a
driver error that could quote a statement's parameters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.core.problems import Unavailable
from server.db.engine import writer


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, or no pooled connection came free in time."""

    code = "storage-unavailable"
    title = "The database is unavailable; retry later"


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads."""
    try:
        async with engine.connect() as conn:
            yield conn
    except (DBAPIError, OSError, PoolTimeout) as error:
        # the class only: a driver message can quote the statement's parameters
        raise DatabaseUnavailable(f"the database cannot be read ({type(error).__name__})") from None


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    try:
        async with writer(engine).begin() as conn:
            yield conn
    except (DBAPIError, OSError, PoolTimeout) as error:
        raise DatabaseUnavailable(
            f"the database cannot be written ({type(error).__name__})"
        ) from None
