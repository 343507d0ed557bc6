"""Run the versioned Alembic migrations in ``server/db/migrations`` from code, at start-up.

Several nodes may start at once against one PostgreSQL database: the upgrade runs under a
transaction-scoped advisory lock, so one node migrates and the others then find the schema
at head. On SQLite the migration transaction is ``BEGIN IMMEDIATE``, which serialises the
same way. PostgreSQL and SQLite both run DDL inside the transaction, so a failed migration
leaves the previous version intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import writer

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
#: an arbitrary constant shared by every Balie node: "Balie migrating"
_ADVISORY_LOCK: Final = 0x0BA11E


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (the newest by default); a no-op at head."""
    async with writer(engine).begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least one migration
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    command.upgrade(alembic_config(connection), revision)
