"""PostgreSQL behind a partition that swallows packets (the connections stay up, nothing
answers): every request answers 503 "try again in a moment" within the database timeout
instead of hanging, and Balie recovers by itself when the partition heals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from server.config import DatabaseSettings
from tests.proxy import CuttableProxy
from tests.server.db.support import create_postgres_database, drop_postgres_database
from tests.support import LiveServer, config_for, live_server

#: the database timeout under test: short, so the test is (the default is 5 s)
TIMEOUT = 2.0
#: how long the test's client waits before calling a request hung: far past the timeout
PATIENCE = 30.0
PAGES = (
    ("GET", "/api/tenants/demo/purposes", "application/problem+json"),
    ("GET", "/afspraak/demo", "text/html"),
    ("GET", "/staff/sign-in", "text/html"),
)


@pytest.fixture
async def partitioned(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, CuttableProxy]]:
    url = await create_postgres_database()
    parsed = make_url(url)
    proxy = CuttableProxy(parsed.port or 5432, parsed.host or "127.0.0.1")
    await proxy.start()
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    database = DatabaseSettings(url=proxied, demo_data=True, timeout=TIMEOUT)
    try:
        async with live_server(tmp_path, config=config_for(tmp_path, database=database)) as live:
            yield live, proxy
    finally:
        await proxy.stop()
        await drop_postgres_database(url)


async def _ask(http: aiohttp.ClientSession, server: LiveServer, method: str, path: str) -> int:
    async with http.request(
        method,
        server.url + path,
        headers={"Accept": "text/html"} if not path.startswith("/api/") else {},
        timeout=aiohttp.ClientTimeout(total=PATIENCE),
    ) as response:
        await response.read()
        return response.status


async def test_a_partition_is_503_within_the_timeout_and_heals_by_itself(
    partitioned: tuple[LiveServer, CuttableProxy],
) -> None:
    server, proxy = partitioned
    async with aiohttp.ClientSession() as http:
        for method, path, _ in PAGES:
            assert await _ask(http, server, method, path) == 200
        proxy.blackhole()
        started = time.monotonic()
        # a burst, as many residents at once: none hangs, every one is told to retry
        answers = await asyncio.gather(
            *(_ask(http, server, method, path) for method, path, _ in PAGES * 4)
        )
        took = time.monotonic() - started
        assert answers == [503] * len(answers)
        async with http.get(server.url + "/api/tenants/demo/purposes") as response:
            assert response.status == 503
            assert response.headers["Retry-After"]
            body = await response.json(content_type="application/problem+json")
            assert body["code"] == "storage-unavailable"
        proxy.heal()
        healed = []
        for _ in range(5):  # the first asks may meet a pooled connection that died
            healed = [await _ask(http, server, method, path) for method, path, _ in PAGES]
            if healed == [200] * len(PAGES):
                break
        assert healed == [200] * len(PAGES)
    print(f"a burst of {len(answers)} requests answered 503 in {took:.1f} s")  # noqa: T201


async def test_readiness_turns_unready_while_the_database_is_away_and_back_after(
    partitioned: tuple[LiveServer, CuttableProxy],
) -> None:
    """A load balancer asking /readyz stops sending people to a node whose database does not
    answer, and sends them again once it does; /healthz (the process) stays up throughout."""
    server, proxy = partitioned
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/readyz") as response:
            assert response.status == 200
            assert (await response.json())["checks"]["database"] == "ok"
        proxy.blackhole()
        async with http.get(server.url + "/readyz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["status"] == "unready" and body["checks"]["database"] != "ok", body
        assert body["checks"]["signalling"] == "ok"
        async with http.get(server.url + "/healthz") as response:
            assert response.status == 200
        proxy.heal()
        statuses = []
        for _ in range(5):  # the first asks may meet a pooled connection that died
            async with http.get(server.url + "/readyz") as response:
                statuses.append(response.status)
            if statuses[-1] == 200:
                break
        assert statuses[-1] == 200, statuses
