"""Fixtures for the server tests: a migrated database per module on each backend (SQLite and
the real PostgreSQL), an engine per test, a clock the test moves, and a database URL per test
on each backend for tests that start a whole Balie."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.server.db.support import (
    BACKENDS,
    Database,
    FakeClock,
    create_postgres_database,
    drop_postgres_database,
    module_database,
    open_engine,
)


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    yield from module_database(request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    async for opened in open_engine(database):
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """``BALIE_DATABASE_URL`` for a Balie on each backend: empty (SQLite in the data
    directory), then a fresh PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield ""
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
