"""Alembic environment: always handed a live connection by :func:`server.db.migrate.migrate`.

Balie runs migrations from code only (no ``alembic.ini``), inside the caller's transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from server.db.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through server.db.migrate.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
