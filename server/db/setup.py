"""The application's database: engine, migrations at start-up, the demo tenant."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server.core.appkeys import CONFIG
from server.db import create_engine, migrate
from server.db.appkeys import ENGINE
from server.db.demo import seed_demo
from server.staff.demo import seed_staff_demo

log = logging.getLogger("balie.db")


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the engine, bring the schema to head, seed demo data if asked."""
    config = app[CONFIG]
    if config.database.url.startswith("sqlite"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(config.database.url)
    try:
        await migrate(engine)
        if config.database.demo_data:
            await seed_demo(engine)
            await seed_staff_demo(engine, config)
        app[ENGINE] = engine
        yield
    finally:
        await engine.dispose()
