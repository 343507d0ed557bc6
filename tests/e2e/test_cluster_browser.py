"""Two ``balie serve`` processes behind one load balancer, on one Redis and one PostgreSQL,
and two people in Chromium taking the README's path: the resident's identity step starts on
node A and finishes on node B, the resident waits and talks on node B, the specialist joins
and admits on node A, and video is decoded on both sides. Then Redis stops and the
specialist's connection drops: over links, node A still reaches the room's home and the
page is back in the call at once; through Redis only, the page says the video counter
cannot be reached for a moment. The video goes on, and once Redis is back the page is in
the call again.

The balancer (tests/balancer.py) is steered by the test, as a round-robin one would send
requests by chance; ``/irma-emulator`` is routed to node A, as an operator routes the IRMA
server's path to the one IRMA server. Both nodes run the same configuration on one data
directory, so they trust the same emulator key (server/verification/setup.py).

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from signaling.roles import Role
from tests.balancer import Balancer
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    SocketCutter,
    admit_first_waiting,
    click_join,
    open_demo_wallet,
    open_participant,
    share_in_demo_wallet,
    video_flows,
    wait_for_phase,
)
from tests.redis_server import RedisServer
from tests.support import BalieProcess, balie_serve, free_port

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e

VERIFICATION = "/verification"

log = logging.getLogger(__name__)


class TwoNodes:
    def __init__(self, resident_door: Balancer, staff_door: Balancer, *, links: bool) -> None:
        self.resident_door = resident_door
        self.staff_door = staff_door
        #: the nodes send each other frames over links (BALIE_LINK_LISTEN), as deployed
        self.links = links
        self.a: BalieProcess
        self.b: BalieProcess
        self.redis: RedisServer
        #: each node's metrics port, by its URL
        self.metrics: dict[str, int] = {}

    async def frames_over_links(self, node: BalieProcess) -> float:
        """What ``node`` sent the other over their link, from its metrics, as an operator
        reads it (0 for a node without links, which has no such metric)."""
        url = f"http://127.0.0.1:{self.metrics[node.url]}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            text = await response.text()
        found = re.search(r"^balie_link_frames_total (\S+)$", text, re.M)
        return float(found[1]) if found else 0.0


@pytest.fixture(params=[True, False], ids=["links", "redis-only"])
async def nodes(
    request: pytest.FixtureRequest, tmp_path: Path, redis: RedisServer, postgres_url: str
) -> AsyncIterator[TwoNodes]:
    """Node A and node B; residents come in through one balancer, staff through another
    (pointed at node A), both allowed origins of the deployment; frames between the nodes
    over links, as docker/compose.yaml deploys them, or through Redis only."""
    resident_door, staff_door = Balancer(), Balancer()
    async with AsyncExitStack() as stack:
        env = {
            "BALIE_DATABASE_URL": postgres_url,
            "BALIE_REDIS_URL": redis.url,
            "BALIE_BUS_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "BALIE_PUBLIC_URL": resident_door.url,
            "BALIE_ALLOWED_ORIGINS": f"{resident_door.url},{staff_door.url}",
        }
        if request.param:
            env["BALIE_LINK_LISTEN"] = "127.0.0.1:0"
        two = TwoNodes(resident_door, staff_door, links=request.param)
        two.redis = redis
        # one after the other: the second finds the schema and the demo data in place
        for name in ("a", "b"):
            port = free_port()
            node = await stack.enter_async_context(
                balie_serve(tmp_path / "data", env=env | {"BALIE_METRICS_PORT": str(port)})
            )
            setattr(two, name, node)
            two.metrics[node.url] = port
        for door in (resident_door, staff_door):
            await door.start()
            stack.push_async_callback(door.stop)
            door.add(two.a.url)
            door.add(two.b.url)
            door.pins["/irma-emulator"] = two.a.url
        yield two


async def test_a_call_across_two_nodes_with_the_identity_step_on_both(
    browser: Browser, nodes: TwoNodes
) -> None:
    a, b = nodes.a, nodes.b
    door = nodes.resident_door
    resident = await open_participant(browser, a.demo_link(Role.RESIDENT), name="inwoner")
    specialist = None
    try:
        page = resident.page
        await page.wait_for_function(
            "() => document.getElementById('self-video').videoWidth > 0", timeout=DEADLINE_MS
        )
        await click_join(resident)

        # the identity step starts on node A: the demo wallet opens in a new tab
        wallet = await open_demo_wallet(resident)
        started = [
            node for _, path, node in door.served if path.endswith(VERIFICATION + "/session")
        ]
        assert started == [a.url], door.served

        # from here the balancer sends the resident's requests to node B
        door.send_to(b.url)
        switched = len(door.served)
        await share_in_demo_wallet(resident, wallet)
        await wait_for_phase(resident, "lobby")
        after = door.served[switched:]
        finished = [node for _, path, node in after if path.endswith(VERIFICATION + "/result")]
        assert finished == [b.url], after
        assert ("GET", "/ws", b.url) in after, after

        # the specialist, through the staff door to node A
        specialist_url = a.demo_link(Role.SPECIALIST).replace(door.url, nodes.staff_door.url)
        specialist = await open_participant(browser, specialist_url, name="medewerker")
        cutter = SocketCutter()
        await cutter.install(specialist.page)
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        assert ("GET", "/ws", a.url) in nodes.staff_door.served
        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")

        await video_flows(resident, specialist)
        # the call's signalling crossed between the nodes over their link, both ways, or
        # (without links) through Redis only
        for node in (a, b):
            assert (await nodes.frames_over_links(node) > 0) == nodes.links, node.url

        # Redis goes away and the specialist's connection drops
        nodes.redis.stop()
        await cutter.cut()
        if nodes.links:
            # node A still reaches the room's home (node B) over their link: the page
            # resumes its seat at once
            await expect(specialist.page.locator("#status")).to_contain_text(
                "De verbinding is hersteld", timeout=DEADLINE_MS
            )
            await wait_for_phase(specialist, "call")
        else:
            # node A cannot reach the room's home, so the page hears 1013 and says so
            await expect(specialist.page.locator("#status")).to_contain_text(
                "De videobalie is even niet bereikbaar", timeout=DEADLINE_MS
            )
        # either way the video goes on
        await video_flows(resident, specialist)
        # Redis is back: the page resumes its seat by itself, in the call
        nodes.redis.start()
        await specialist.page.wait_for_function(
            "() => window.balie.state.connected", timeout=DEADLINE_MS
        )
        await wait_for_phase(specialist, "call")
        for participant in (resident, specialist):
            participant.assert_no_page_errors()
    except BaseException:
        for name, node in (("A", a), ("B", b)):
            log.error("node %s printed:\n%s", name, node.printed)
        raise
    finally:
        if specialist is not None:
            await specialist.close()
        await resident.close()
