"""A real call between two aiortc peers, watched through ``/metrics`` (issue 12, must-show 2
and 3): the rooms, seats, relayed messages, the setup times and routes the peers report,
ICE failures and close codes are counted, on the metrics listener only; and neither the
metrics nor the JSON log lines hold a chat's personal details, a room's id or a token."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.config import MetricsSettings
from server.core.logs import Correlation, JsonFormatter
from signaling.roles import Role
from tests.e2e.peers import TestPeer, negotiate
from tests.support import DEADLINE, LiveServer, SignalClient, config_for, free_port, live_server

pytestmark = pytest.mark.e2e

FRAMES = 10
SCRAPE_TOKEN = "scrape-secret-for-tests"
#: obviously fake personal details a resident might type into the chat
CANARIES = ("Test Persoon", "999999990", "test@example.invalid")
CHAT = "Mijn naam is Test Persoon, BSN 999999990, mail test@example.invalid"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    metrics = MetricsSettings(port=free_port(), token=SCRAPE_TOKEN)
    config = config_for(tmp_path, metrics=metrics)
    # the production access log, which names a room by its reference only
    async with live_server(tmp_path, config=config, access_log=True) as running:
        yield running


def metrics_url(server: LiveServer) -> str:
    return f"http://127.0.0.1:{server.config.metrics.port}/metrics"


async def scrape_text(http: aiohttp.ClientSession, server: LiveServer) -> str:
    headers = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}
    async with http.get(metrics_url(server), headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return await response.text()


async def scrape(http: aiohttp.ClientSession, server: LiveServer) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(await scrape_text(http, server)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def eventually(
    http: aiohttp.ClientSession, server: LiveServer, name: str, expected: float, **labels: str
) -> Samples:
    """Scrape until ``name{labels}`` reaches ``expected`` (a socket's close is counted when
    its handler finishes, a moment after the client saw it)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        samples = await scrape(http, server)
        if value(samples, name, **labels) >= expected or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.05)


def connected_at(peer: TestPeer) -> asyncio.Future[float]:
    """When the peer connection first reaches ``connected`` (monotonic seconds)."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    @peer.pc.on("connectionstatechange")
    def changed() -> None:
        if peer.pc.connectionState == "connected" and not future.done():
            future.set_result(time.monotonic())

    return future


def route_of(peer: TestPeer) -> str:
    """``relay`` when the nominated ICE pair goes through TURN, else ``direct``, as the call
    page reads it from getStats() (aiortc's statistics do not name the pair)."""
    ice = peer.pc.getTransceivers()[0].sender.transport.transport
    pairs: dict[int, Any] = ice._connection._nominated
    kinds = {kind for pair in pairs.values() for kind in (pair.local_candidate.type,)}
    kinds |= {pair.remote_candidate.type for pair in pairs.values()}
    assert pairs, "no nominated pair: ICE did not connect"
    return "relay" if "relay" in kinds else "direct"


async def report_setup(
    client: SignalClient, peer: TestPeer, in_call: float, connected: asyncio.Future[float]
) -> int:
    """What the call page sends once its connection first connects (docs/signaling.md)."""
    setup_ms = round((await connected - in_call) * 1000)
    await client.send(type="report", event="connected", setup_ms=setup_ms, route=route_of(peer))
    return setup_ms


async def test_a_call_is_counted_and_the_metrics_hold_no_personal_data(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="balie")
    caplog.handler.addFilter(Correlation())  # as on the handler `balie serve` sets up
    specialist_peer, resident_peer = TestPeer(), TestPeer()
    room = server.issue_room()
    try:
        async with aiohttp.ClientSession() as http:
            # the public listener has no /metrics; the metrics listener wants its token
            async with http.get(server.url + "/metrics") as public:
                assert public.status == 404
            async with http.get(metrics_url(server)) as anonymous:
                assert anonymous.status == 401
            start = await scrape(http, server)
            assert value(start, "balie_rooms") == 0

            specialist = await SignalClient.connect(http, server)
            await specialist.join(room.seat(Role.SPECIALIST).token, room=room.room)
            resident = await SignalClient.connect(http, server)
            assert (await resident.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
            lobby = await scrape(http, server)
            assert value(lobby, "balie_rooms") == 1
            assert value(lobby, "balie_participants", state="in-call") == 1
            assert value(lobby, "balie_participants", state="waiting") == 1
            assert value(lobby, "balie_ws_connections") == 2
            assert value(lobby, "balie_lobby_longest_wait_seconds") >= 0

            specialist_connected = connected_at(specialist_peer)
            resident_connected = connected_at(resident_peer)
            await specialist.send(type="admit", participant_id=resident.participant_id)
            await resident.expect("admitted")
            await specialist.expect("peer-joined")
            in_call = time.monotonic()
            await negotiate(specialist_peer, specialist, resident_peer, resident)
            await specialist_peer.wait_frames(FRAMES)
            await resident_peer.wait_frames(FRAMES)
            setups = [
                await report_setup(specialist, specialist_peer, in_call, specialist_connected),
                await report_setup(resident, resident_peer, in_call, resident_connected),
            ]
            await resident.send(type="chat", text=CHAT)
            assert (await specialist.expect("chat"))["text"] == CHAT

            during = await eventually(http, server, "balie_relayed_messages_total", 1, type="chat")
            assert value(during, "balie_participants", state="in-call") == 2
            assert value(during, "balie_participants", state="waiting") == 0
            assert value(during, "balie_room_decisions_total", decision="admit") == 1
            # offer and answer, each followed by its end of candidates; the chat
            assert value(during, "balie_relayed_messages_total", type="description") == 2
            assert value(during, "balie_relayed_messages_total", type="candidate") == 2
            assert value(during, "balie_relayed_messages_total", type="chat") == 1
            # the setup times the peers reported, and their route: on loopback, direct
            assert value(during, "balie_call_setup_seconds_count") == 2
            assert value(during, "balie_call_setup_seconds_sum") == pytest.approx(
                sum(setups) / 1000
            )
            assert value(during, "balie_call_connections_total", route="direct") == 2
            assert value(during, "balie_call_connections_total", route="relay") == 0

            # a bad report gets an error frame and changes nothing
            await resident.send(type="report", event="connected", setup_ms=-5, route="direct")
            assert (await resident.expect("error"))["code"] == "bad-message"
            await resident.send(type="report", event="connected", setup_ms=10, route="moon")
            assert (await resident.expect("error"))["code"] == "bad-message"
            await resident.send(type="report", event="exploded")
            assert (await resident.expect("error"))["code"] == "bad-message"
            await resident.send(type="report", event="ice-failed")
            after = await eventually(http, server, "balie_ice_failures_total", 1)
            assert value(after, "balie_ice_failures_total") == 1
            assert value(after, "balie_call_setup_seconds_count") == 2
            assert value(after, "balie_call_connections_total", route="direct") == 2

            await specialist.send(type="end")
            assert await resident.expect_close() == 4410
            assert await specialist.expect_close() == 4410
            ended = await eventually(http, server, "balie_ws_closes_total", 2, code="4410")
            assert value(ended, "balie_ws_closes_total", code="4410") == 2
            assert value(ended, "balie_room_decisions_total", decision="end") == 1
            assert value(ended, "balie_rooms") == 0
            assert value(ended, "balie_ws_connections") == 0

            # HTTP by route template: the room's page, counted without its id
            async with http.get(f"{server.url}/call/{room.room}") as page:
                assert page.status == 200
                request_id = page.headers["X-Request-Id"]
            http_samples = await scrape(http, server)
            assert (
                value(
                    http_samples,
                    "balie_http_request_duration_seconds_count",
                    route="/call/{room_id}",
                    method="GET",
                    status="2xx",
                )
                == 1
            )
            text = await scrape_text(http, server)
    finally:
        await specialist_peer.close()
        await resident_peer.close()

    # nothing personal, no id, no token: in the metrics ...
    secrets = (
        *CANARIES,
        room.room,
        *(seat.participant_id for seat in room.seats),
        *(seat.token for seat in room.seats),
    )
    for secret in secrets:
        assert secret not in text
    # ... nor in the log lines as JSON, which do carry the requests and the room's reference
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    joined = "\n".join(lines)
    assert '"message":"joined room=rm-' in joined
    # the access log's line of the page names the room by reference, and the request by the
    # id its answer carried
    (page_line,) = [line for line in lines if '"message":"GET /call/' in line]
    page_entry = orjson.loads(page_line)
    assert page_entry["request"] == request_id and len(request_id) == 16
    assert page_entry["room"].startswith("rm-") and page_entry["room"] in page_entry["message"]
    for secret in (*CANARIES, room.room, *(seat.token for seat in room.seats)):
        assert secret not in joined
