"""Migrations: up from empty on both dialects, idempotent, in step with server/db/schema.py,
and the no-overlap guarantee installed by them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import create_engine, current_revision, head_revision, metadata, migrate
from tests.server.db.support import (
    BACKENDS,
    create_postgres_database,
    drop_postgres_database,
)


@pytest.fixture(params=BACKENDS)
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with nothing in it."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'balie.db'}"
    else:
        url = await create_postgres_database()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await drop_postgres_database(url)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migrate_from_empty_to_head_and_again(empty: AsyncEngine) -> None:
    assert await current_revision(empty) is None
    await migrate(empty)
    assert await current_revision(empty) == head_revision()
    await migrate(empty)  # at head: nothing to do, nothing fails
    assert await current_revision(empty) == head_revision()
    async with empty.connect() as conn:
        tables = await conn.run_sync(_tables)
        # The migrations and the schema the code queries describe the same tables.
        diff = await conn.run_sync(_diff)
    assert set(metadata.tables) <= tables
    assert diff == []


async def test_migration_installs_the_no_overlap_guard(empty: AsyncEngine) -> None:
    await migrate(empty)
    async with empty.connect() as conn:
        if empty.dialect.name == "postgresql":
            found = await conn.execute(
                text(
                    "SELECT contype::text FROM pg_constraint"
                    " WHERE conname = 'appointments_no_overlap'"
                )
            )
            assert found.scalar_one() == "x"  # an exclusion constraint
            extension = await conn.execute(
                text("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
            )
            assert extension.scalar_one() == 1
        else:
            found = await conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            )
            assert found.scalars().all() == [
                "appointments_no_overlap_insert",
                "appointments_no_overlap_update",
            ]


async def test_nodes_starting_together_migrate_once(empty: AsyncEngine) -> None:
    # Two nodes of the scale-out shape start at the same moment against one database.
    other = create_engine(empty.url)
    try:
        await asyncio.gather(migrate(empty), migrate(other))
    finally:
        await other.dispose()
    assert await current_revision(empty) == head_revision()
