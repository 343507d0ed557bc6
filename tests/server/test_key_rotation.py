"""Key rotation without downtime: ``balie keys rotate`` on the key file that the nodes share
reaches a running node without a restart. What the old key signed keeps working; what a
node that already follows the new key signs works on a node that has not looked yet."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import jwt
import pytest

from server.booking.links import verify_manage_link
from server.booking.setup import load_link_keys
from server.call.rooms import issue_room
from server.cli import main
from server.core.appkeys import KEYS
from server.core.secrets import load_keys
from signaling.roles import Role
from tests.server.booking.support import Booking, booking_server, seed
from tests.server.resident.support import Resident, book, manage_link, open_manage_link
from tests.support import SignalClient, live_server, operator_env

pytestmark = pytest.mark.usefixtures("balie_env")


@pytest.fixture
def balie_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    operator_env(monkeypatch, tmp_path)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Booking]:
    async with booking_server(tmp_path) as live:
        yield live


def rotate(which: str) -> None:
    assert main(["keys", "rotate", which]) == 0


def link_kid(link: str) -> str:
    return link.split("#token=", 1)[1].split(".")[1]


async def test_a_running_node_takes_up_new_link_keys_and_old_links_keep_working(
    server: Booking,
) -> None:
    tenant = await seed(server.engine)
    other_node = load_link_keys(server.config)  # read before the rotation, not asked since
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        resident = Resident(server, http)
        old_link = manage_link((await book(resident, tenant))[0])
        rotate("links")
        new_link = manage_link((await book(resident, tenant))[0])

        assert link_kid(new_link) != link_kid(old_link)  # the running node signs with it
        for link in (old_link, new_link):  # and checks both, without a restart
            status, location = await open_manage_link(resident, link)
            assert status == 303 and location.endswith("/beheren"), location
    token = new_link.split("#token=", 1)[1]
    claims = verify_manage_link(other_node, token, now=datetime.now(UTC))
    assert claims.tenant_id == tenant


async def test_a_room_token_signed_with_a_new_key_joins_a_node_that_has_not_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with live_server(tmp_path) as node, aiohttp.ClientSession() as session:
        old = node.issue_room()
        rotate("rooms")
        # another node, started after the rotation, signs with the new key
        room = issue_room(node.config, load_keys(node.config), now=int(time.time()))
        new_kid = jwt.get_unverified_header(room.seat(Role.SPECIALIST).token)["kid"]
        assert new_kid != jwt.get_unverified_header(old.seat(Role.SPECIALIST).token)["kid"]

        with caplog.at_level(logging.INFO, logger="balie.keys"):
            client = await SignalClient.connect(session, node)
            joined = await client.join(room.seat(Role.SPECIALIST).token, room=room.room)
        assert joined["role"] == "specialist"
        assert [r.event for r in caplog.records] == ["keys.reloaded"]  # type: ignore[attr-defined]
        assert node.app[KEYS].active == new_kid  # and it signs with it from now on

        earlier = await SignalClient.connect(session, node)
        joined = await earlier.join(old.seat(Role.SPECIALIST).token, room=old.room)
        assert joined["role"] == "specialist"  # the old key still verifies


async def test_a_damaged_key_file_keeps_the_keys_a_node_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with live_server(tmp_path) as node, aiohttp.ClientSession() as session:
        before = node.app[KEYS].kids
        node.config.keys_file.write_text("{half a file")
        with caplog.at_level(logging.WARNING, logger="balie.keys"):
            room = node.issue_room()  # signing looks at the file first
        assert node.app[KEYS].kids == before
        assert [r.event for r in caplog.records] == ["keys.reload_failed"]  # type: ignore[attr-defined]
        client = await SignalClient.connect(session, node)
        joined = await client.join(room.seat(Role.SPECIALIST).token, room=room.room)
        assert joined["role"] == "specialist"
