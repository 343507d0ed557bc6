"""``POST /api/probe/rooms`` on a real server: off without a secret, refused without the right
one, rate-limited, and with it a fresh room without an identity step whose tokens expire
soon."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from server.core.appkeys import KEYS
from server.probe.api import PROBE_BURST, PROBE_TOKEN_TTL
from signaling.roles import Role
from signaling.tokens import verify_room_token
from tests.support import LiveServer, config_for, live_server

SECRET = "probe-secret-" + "x" * 32
PATH = "/api/probe/rooms"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path, config=config_for(tmp_path, probe_secret=SECRET)) as live:
        yield live


async def post(server: LiveServer, authorization: str | None) -> tuple[int, dict[str, object]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.url + PATH, headers=headers) as response,
    ):
        body: dict[str, object] = await response.json(content_type=None)
        body["_retry_after"] = response.headers.get("Retry-After")
        body["_cache"] = response.headers.get("Cache-Control")
        return response.status, body


async def test_off_without_a_probe_secret_like_a_path_no_route_takes(tmp_path: Path) -> None:
    async with live_server(tmp_path) as off:
        status, body = await post(off, f"Bearer {SECRET}")
    assert (status, body["type"]) == (404, "about:blank")
    assert "code" not in body


@pytest.mark.parametrize(
    "authorization",
    [None, "", SECRET, f"Basic {SECRET}", f"Bearer {SECRET[:-1]}", f"Bearer {SECRET}x"],
)
async def test_a_missing_or_wrong_secret_is_refused(
    server: LiveServer, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    status, body = await post(server, authorization)
    assert (status, body["code"]) == (401, "probe-secret-invalid")
    assert "probe secret refused" in caplog.text
    assert [r.event for r in caplog.records if hasattr(r, "event")] == ["probe.secret_refused"]
    assert SECRET[:20] not in caplog.text


async def test_the_secret_gets_a_fresh_room_whose_tokens_live_minutes(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = int(time.time())
    status, first = await post(server, f"Bearer {SECRET}")
    _, second = await post(server, f"Bearer {SECRET}")
    assert status == 201 and first["_cache"] == "no-store"
    assert first["room"] != second["room"] and first["expires_in"] == PROBE_TOKEN_TTL
    for role in (Role.RESIDENT, Role.SPECIALIST):
        seat = first[role.value]
        assert isinstance(seat, dict)
        claims = verify_room_token(server.app[KEYS], seat["token"], issuer="balie")
        assert (claims.room, claims.role) == (first["room"], role)
        # no purpose, no tenant: no identity step, no appointment, nothing personal
        assert claims.purpose is None and claims.tenant is None
        assert before + PROBE_TOKEN_TTL <= claims.expires_at <= int(time.time()) + PROBE_TOKEN_TTL
        assert seat["url"] == f"{server.url}/call/{first['room']}#token={seat['token']}"
    assert "probe room issued" in caplog.text
    assert str(first["room"]) not in caplog.text  # rooms are logged by reference only


async def test_requests_right_or_wrong_are_rate_limited(server: LiveServer) -> None:
    statuses = [(await post(server, "Bearer wrong"))[0] for _ in range(PROBE_BURST)]
    assert statuses == [401] * PROBE_BURST
    status, body = await post(server, f"Bearer {SECRET}")
    assert (status, body["code"], body["_retry_after"]) == (429, "rate-limited", "60")
