"""The walk-in counter on two Balie nodes sharing one Redis and one PostgreSQL, in this
process: the queue lives in the database, so either node answers for it, and a resident
hears their place through the call hub's notices wherever their socket is (the hub routes a
notice to the room's home over the bus). No second design: the same code as on one node.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from identity.wallet import TestWallet
from server.db.appkeys import ENGINE
from server.db.demo import seed_demo
from server.walkin.appkeys import WALKIN
from tests.redis_server import RedisServer
from tests.server.call.cluster import Cluster
from tests.support import LiveServer, SignalClient

VALUES = {
    "irma-demo.gemeente.personalData.bsn": "999999990",
    "irma-demo.gemeente.personalData.fullname": "Test Persoon",
}
TOKEN = re.compile(r"^/call/(r_[A-Za-z0-9_-]+)#token=(.+)$")


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path / "data", redis.url, postgres_url)
    first = await cluster.start()
    await cluster.start()
    await seed_demo(first.app[ENGINE])
    try:
        yield cluster
    finally:
        await cluster.stop_all()


async def walk_in(
    http: aiohttp.ClientSession, chooses_on: LiveServer, waits_on: LiveServer
) -> tuple[str, str, SignalClient]:
    """A resident chooses the bijstand counter on one node, shows who they are there, and
    waits in the lobby through the other: (room, token, their socket)."""
    async with http.post(
        f"{chooses_on.url}/balie/demo/bijstand",
        data={"kanaal": "video"},
        headers={"Origin": chooses_on.origin},
        allow_redirects=False,
    ) as chosen:
        found = TOKEN.match(chosen.headers["Location"])
    assert found is not None
    room, token = found.group(1), found.group(2)
    bearer = {"Authorization": f"Bearer {token}"}
    api = f"{chooses_on.url}/api/rooms/{room}/verification"
    async with http.get(f"{chooses_on.url}/call/{room}"):
        pass
    async with http.post(api + "/session", headers=bearer, json={}) as response:
        started: Any = await response.json()
    await TestWallet(http).disclose(started["sessionPtr"], VALUES)
    async with http.post(api + "/result", headers=bearer, json={}) as response:
        assert response.status == 200
    browser = next(c.value for c in http.cookie_jar if c.key == "balie_browser")
    socket = await SignalClient.connect(http, waits_on, browser=browser)
    assert (await socket.join(token))["state"] == "lobby"
    return room, token, socket


async def place(http: aiohttp.ClientSession, node: LiveServer, room: str, token: str) -> Any:
    for _ in range(500):
        async with http.get(
            f"{node.url}/api/rooms/{room}/queue", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            if response.status == 200:
                return await response.json()
        await asyncio.sleep(0.01)
    raise AssertionError("no place")


async def notice(socket: SignalClient, **expected: object) -> dict[str, Any]:
    while True:
        frame = await socket.expect("queue")
        if all(frame.get(key) == value for key, value in expected.items()):
            return frame


async def test_the_queue_and_its_notices_span_the_nodes(cluster: Cluster) -> None:
    one, two = cluster.nodes
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as first_http,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as second_http,
    ):
        # the first waits through node two, and node one knows their place
        first_room, first_token, first = await walk_in(first_http, one, two)
        assert (await place(first_http, one, first_room, first_token))["position"] == 1
        # the second waits through node one: the first, on node two, hears the queue grew
        second_room, second_token, second = await walk_in(second_http, one, one)
        assert (await place(second_http, two, second_room, second_token))["position"] == 2
        await notice(first, position=1, waiting=2)

        # a specialist on node one takes the first: told on node two, the second moves up
        taken = await one.app[WALKIN].take_next("demo", "demo-anna")
        assert taken is not None and taken.room_id == first_room
        await notice(first, state="taken")
        await notice(second, position=1, waiting=1)
        # and a specialist on node two gets the next one, never the same
        again = await two.app[WALKIN].take_next("demo", "demo-anna")
        assert again is not None and again.room_id == second_room
        assert await one.app[WALKIN].take_next("demo", "demo-anna") is None
        await first.close()
        await second.close()
