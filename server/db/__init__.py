"""Durable storage: SQLAlchemy Core (async) on SQLite by default, PostgreSQL in production.

- :func:`create_engine` – an engine for ``sqlite+aiosqlite:///var/balie.db`` or
  ``postgresql+asyncpg://user@host/db``;
- :func:`migrate` – bring the schema to the newest version (run at start-up);
- :mod:`server.db.schema` – the tables; :mod:`server.db.demo` – the demo tenant.

docs/storage.md describes the schema and the double-booking guarantee per dialect.
"""

from server.db.engine import create_engine, is_sqlite, writer
from server.db.migrate import current_revision, head_revision, migrate
from server.db.schema import metadata

__all__ = [
    "create_engine",
    "current_revision",
    "head_revision",
    "is_sqlite",
    "metadata",
    "migrate",
    "writer",
]
