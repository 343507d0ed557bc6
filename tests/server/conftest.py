"""Fixtures for the server tests: a migrated database per module on each backend (SQLite and
the real PostgreSQL), an engine per test, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.server.db.support import BACKENDS, Database, FakeClock, module_database, open_engine


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
