"""The application's database: the engine, migrations at start-up, the demo tenant."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import nullcontext

from aiohttp import web
from sqlalchemy import text

from server.core.appkeys import CONFIG
from server.core.health import add_readiness_check
from server.db.appkeys import ENGINE
from server.db.demo import seed_demo
from server.db.engine import close, create_engine
from server.db.migrate import migrate
from server.db.sole_node import migration_turn, sole_node

log = logging.getLogger("balie.db")


def setup(app: web.Application) -> None:
    """Open the database with the application; features add their contexts after this."""
    app.cleanup_ctx.append(database_context)
    add_readiness_check(app, "database", lambda: _answers(app))


async def _answers(app: web.Application) -> str | None:
    """Ready when the database answers a query (``/readyz``)."""
    if ENGINE not in app:
        return "not open yet"
    async with app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the engine, claim the database for this node (``sole_node``), bring
    the schema to head, seed the demo tenant if asked."""
    config = app[CONFIG]
    if config.database.url.startswith("sqlite"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(config.database.url, timeout=config.database.timeout)
    try:
        async with nullcontext() if config.clustered else sole_node(engine):
            async with migration_turn(engine):
                await migrate(engine)
                if config.database.demo_data:
                    await seed_demo(engine)
            app[ENGINE] = engine
            yield
    finally:
        await close(engine)
