"""The identity step in the logs and the metrics (issue 12): a refused proof, a finished
verification and a BSN reveal are security events under stable names and counts by
verifier, outcome and reason; the log lines (readable and JSON) and the metrics hold no
value, no room id and no token. Fake values only (tests/server/verification/support.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from server.call.rooms import IssuedRoom, issue_room
from server.core.appkeys import KEYS
from server.core.logs import Correlation
from server.verification.appkeys import GATE
from signaling.roles import Role
from tests.leaks import json_lines, logged, metrics_text
from tests.server.verification.support import DEMO_VALUES, FAKE_BSN, FAKE_NAME, Browser, verify
from tests.support import LiveServer, live_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    # the production access log: what an operator's log would show
    async with live_server(tmp_path, access_log=True) as live:
        yield live


@pytest.fixture
async def browsers(server: LiveServer) -> AsyncIterator[list[Browser]]:
    made = [Browser(server.url) for _ in range(3)]
    yield made
    for browser in made:
        await browser.close()


def gated_room(server: LiveServer) -> IssuedRoom:
    return issue_room(
        server.config, server.app[KEYS], now=int(time.time()), purpose="bijstand", tenant="demo"
    )


async def test_verifications_are_logged_and_counted_without_a_value(
    server: LiveServer, browsers: list[Browser], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(Correlation())  # as on the handler `balie serve` sets up
    refused_room = gated_room(server)
    await browsers[0].open(refused_room.room)
    status, _ = await verify(
        browsers[0], refused_room, {"irma-demo.gemeente.personalData.bsn": FAKE_BSN}
    )
    assert status == 403
    room = gated_room(server)
    await browsers[1].open(room.room)
    assert (await verify(browsers[1], room, DEMO_VALUES))[0] == 200
    specialist = room.seat(Role.SPECIALIST).token
    status, shown = await browsers[2].call(
        "POST", room.room, "/reveal", specialist, {"attribute": "bsn"}
    )
    assert status == 200 and shown["value"] == FAKE_BSN
    status, _ = await browsers[2].call("GET", room.room, "", "not-a-token")
    assert status == 401

    entries = [orjson.loads(line) for line in json_lines(caplog)]
    events = [entry.get("event") for entry in entries]
    assert events.count("identity.proof_refused") == 1
    assert events.count("identity.bsn_revealed") == 1
    assert events.count("room.token_refused") == 1
    (revealed,) = [entry for entry in entries if entry.get("event") == "identity.bsn_revealed"]
    assert revealed["room"].startswith("rm-") and len(revealed["request"]) == 16

    metrics = metrics_text(server.app)
    verifier = server.app[GATE].verifier.name
    refused = 'outcome="refused",reason="missing-attributes"'
    assert f'balie_verifications_total{{{refused},verifier="{verifier}"}} 1.0' in metrics
    verified = 'outcome="verified",reason=""'
    assert f'balie_verifications_total{{{verified},verifier="{verifier}"}} 1.0' in metrics
    assert 'balie_security_events_total{event="identity.bsn_revealed"}' in metrics

    tokens = [seat.token for seat in (*room.seats, *refused_room.seats)]
    for text in (logged(caplog), metrics):
        for secret in (FAKE_BSN, FAKE_NAME, *tokens):
            assert secret not in text
    # the room by its reference only, in the JSON lines and the metrics
    for text in (*json_lines(caplog), metrics):
        assert room.room not in text and refused_room.room not in text
