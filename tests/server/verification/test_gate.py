"""The identity gate through the real server: emulator, test wallet, vault, audit.

Fake values only (BSN 999999990, "Test Persoon"); the leak checks look for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from yarl import URL

from identity.wallet import TestWallet
from server.call.rooms import IssuedRoom, issue_room
from server.core.appkeys import KEYS
from server.core.language import COOKIE
from server.db.appkeys import ENGINE
from server.db.engine import writer
from server.db.schema import audit_events, purposes, vault_entries
from server.verification.appkeys import GATE
from signaling.roles import Role
from tests.server.verification.support import (
    DEMO_VALUES,
    FAKE_BSN,
    FAKE_NAME,
    Browser,
    verify,
)
from tests.support import LiveServer, SignalClient, live_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        yield live


@pytest.fixture
async def browsers(server: LiveServer) -> AsyncIterator[list[Browser]]:
    made = [Browser(server.url) for _ in range(3)]
    yield made
    for browser in made:
        await browser.close()


def gated_room(server: LiveServer, purpose: str = "bijstand") -> IssuedRoom:
    return issue_room(
        server.config, server.app[KEYS], now=int(time.time()), purpose=purpose, tenant="demo"
    )


async def test_a_resident_verifies_and_the_specialist_sees_the_values(
    server: LiveServer, browsers: list[Browser]
) -> None:
    resident, specialist = browsers[0], browsers[1]
    room = gated_room(server)
    await resident.open(room.room)
    token = room.seat(Role.RESIDENT).token
    status, state = await resident.call("GET", room.room, "", token)
    assert status == 200 and state["required"] and not state["verified"]
    assert [a["label"] for a in state["attributes"]] == ["Burgerservicenummer (BSN)", "Naam"]
    assert state["demo_wallet_url"] == "/irma-emulator/wallet"

    status, verdict = await verify(resident, room, DEMO_VALUES)
    assert status == 200 and verdict["verified"] is True
    assert FAKE_BSN not in str(verdict) and FAKE_NAME not in str(verdict)
    status, state = await resident.call("GET", room.room, "", token)
    assert state["verified"] is True and FAKE_NAME not in str(state)

    specialist_token = room.seat(Role.SPECIALIST).token
    status, panel = await specialist.call("GET", room.room, "", specialist_token)
    assert status == 200 and panel["verified"] and panel["demo"] is True
    rows = {row["name"]: row for row in panel["attributes"]}
    assert rows["bsn"]["masked"] and "value" not in rows["bsn"]
    assert rows["full_name"] == {
        "name": "full_name",
        "label": "Naam",
        "masked": False,
        "value": FAKE_NAME,
    }
    status, shown = await specialist.call(
        "POST", room.room, "/reveal", specialist_token, {"attribute": "bsn"}
    )
    assert status == 200 and shown["value"] == FAKE_BSN

    async with server.app[ENGINE].connect() as conn:
        audit = [
            (row.action, row.attributes)
            for row in await conn.execute(select(audit_events).order_by(audit_events.c.id))
        ]
        sealed = [row.sealed for row in await conn.execute(select(vault_entries))]
    assert audit == [
        ("identity.verified", ["bsn", "full_name"]),
        ("identity.viewed", ["full_name"]),
        ("identity.revealed", ["bsn"]),
    ]
    assert len(sealed) == 1 and FAKE_BSN not in sealed[0] and FAKE_NAME not in sealed[0]


async def test_only_the_rooms_specialist_reads_the_panel(
    server: LiveServer, browsers: list[Browser]
) -> None:
    room = gated_room(server)
    await browsers[0].open(room.room)
    assert (await verify(browsers[0], room, DEMO_VALUES))[0] == 200
    resident = room.seat(Role.RESIDENT).token
    status, state = await browsers[0].call("GET", room.room, "", resident)
    assert "value" not in str(state) and FAKE_BSN not in str(state)
    status, refused = await browsers[0].call(
        "POST", room.room, "/reveal", resident, {"attribute": "bsn"}
    )
    assert status == 403 and refused["code"] == "not-specialist"
    other = gated_room(server)
    status, refused = await browsers[1].call(
        "GET", room.room, "", other.seat(Role.SPECIALIST).token
    )
    assert status == 403 and refused["code"] == "wrong-room"
    status, refused = await browsers[1].call("GET", room.room, "", "not-a-token")
    assert status == 401 and refused["code"] == "token-invalid"


async def test_a_result_does_not_travel_to_another_browser(
    server: LiveServer, browsers: list[Browser]
) -> None:
    room = gated_room(server)
    token = room.seat(Role.RESIDENT).token
    for browser in browsers[:2]:
        await browser.open(room.room)
    status, started = await browsers[0].call("POST", room.room, "/session", token, {})
    await TestWallet(browsers[0].http).disclose(started["sessionPtr"], DEMO_VALUES)
    # the second browser holds the same link but not the first one's session
    status, refused = await browsers[1].call("POST", room.room, "/result", token, {})
    assert status == 409 and refused["code"] == "no-verification"
    status, _ = await browsers[0].call("POST", room.room, "/result", token, {})
    assert status == 200
    # consumed once: asking again finds nothing to finish
    status, refused = await browsers[0].call("POST", room.room, "/result", token, {})
    assert status == 409
    status, state = await browsers[1].call("GET", room.room, "", token)
    assert state["verified"] is False


async def test_a_missing_attribute_is_refused_with_a_reason_for_the_resident(
    server: LiveServer, browsers: list[Browser]
) -> None:
    room = gated_room(server)
    await browsers[0].open(room.room)
    status, refused = await verify(
        browsers[0], room, {"irma-demo.gemeente.personalData.bsn": FAKE_BSN}
    )
    assert status == 403 and refused["code"] == "refused-missing-attributes"
    assert "gegevens" in refused["detail"]
    async with server.app[ENGINE].connect() as conn:
        assert (await conn.execute(select(vault_entries))).first() is None
        actions = [row.action for row in await conn.execute(select(audit_events))]
    assert actions == ["identity.refused.missing-attributes"]


async def test_no_browser_cookie_is_a_clear_error(
    server: LiveServer, browsers: list[Browser]
) -> None:
    room = gated_room(server)
    status, refused = await browsers[0].call(
        "POST", room.room, "/session", room.seat(Role.RESIDENT).token, {}
    )
    assert status == 400 and refused["code"] == "no-browser-session"


async def test_retention_deletes_at_call_end_or_after_the_purposes_period(
    server: LiveServer, browsers: list[Browser]
) -> None:
    gate = server.app[GATE]
    plain, kept = gated_room(server, "bijstand"), gated_room(server, "wmo")
    wmo_values = DEMO_VALUES | {
        "irma-demo.gemeente.address.street": "Teststraat",
        "irma-demo.gemeente.address.houseNumber": "1",
        "irma-demo.gemeente.address.zipcode": "9999 ZZ",
        "irma-demo.gemeente.address.city": "Testdorp",
    }
    for browser, room, values in (
        (browsers[0], plain, DEMO_VALUES),
        (browsers[1], kept, wmo_values),
    ):
        await browser.open(room.room)
        status, verdict = await verify(browser, room, values)
        assert status == 200, verdict
    await gate.call_ended(plain.room)
    await gate.call_ended(kept.room)
    assert await gate.vault.list_for_room(plain.room) == []
    assert len(await gate.vault.list_for_room(kept.room)) == 1
    # wmo keeps values 30 days after the call: advance the gate's clock past that
    real_clock = gate.clock
    gate.clock = lambda: real_clock() + 30 * 86_400 - 60
    assert await gate.sweep() == 0
    gate.clock = lambda: real_clock() + 30 * 86_400 + 60
    assert await gate.sweep() == 1
    assert await gate.vault.list_for_room(kept.room) == []


async def test_the_socket_gate_and_re_verification_during_the_call(
    server: LiveServer, browsers: list[Browser]
) -> None:
    resident_browser, specialist_browser, other_browser = browsers
    room = gated_room(server)
    resident_token = room.seat(Role.RESIDENT).token
    specialist = await SignalClient.connect(specialist_browser.http, server)
    await specialist.join(room.seat(Role.SPECIALIST).token)

    # not verified yet: refused with verification-required and 4412
    await resident_browser.open(room.room)
    early = await SignalClient.connect(resident_browser.http, server)
    await early.send(type="join", token=resident_token)
    assert (await early.expect("error"))["code"] == "verification-required"
    assert await early.expect_close() == 4412

    assert (await verify(resident_browser, room, DEMO_VALUES))[0] == 200
    assert "verified" in (await specialist.expect("verified"))["type"]
    # the same link in another browser is still refused
    await other_browser.open(room.room)
    copied = await SignalClient.connect(other_browser.http, server)
    await copied.send(type="join", token=resident_token)
    assert await copied.expect_close() == 4412

    resident = await SignalClient.connect(resident_browser.http, server)
    assert (await resident.join(resident_token))["state"] == "lobby"
    await specialist.send(type="admit", participant_id=resident.participant_id)
    await resident.expect("admitted")

    # the specialist asks again: the values go at once, the resident is told
    status, _ = await specialist_browser.call(
        "POST", room.room, "/renew", room.seat(Role.SPECIALIST).token
    )
    assert status == 202
    notice = await resident.expect("verify")
    assert set(notice) == {"type", "seq"}  # a notice, never values
    assert await server.app[GATE].vault.list_for_room(room.room) == []
    _, panel = await specialist_browser.call("GET", room.room, "", room.seat(Role.SPECIALIST).token)
    assert panel["verified"] is False
    assert (await verify(resident_browser, room, DEMO_VALUES))[0] == 200
    await specialist.expect("verified")

    # the specialist ends the call: the room's values are deleted (no retention)
    await specialist.send(type="end")
    await resident.expect("ended")
    for _ in range(50):
        if not await server.app[GATE].vault.list_for_room(room.room):
            break
        await asyncio.sleep(0.05)
    assert await server.app[GATE].vault.list_for_room(room.room) == []
    for client in (specialist, resident, early, copied):
        await client.close()


async def test_a_purpose_without_attributes_has_no_identity_step(
    server: LiveServer, browsers: list[Browser]
) -> None:
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "demo", purposes.c.key == "burgerzaken")
            .values(disclosure=[])
        )
    room = gated_room(server, "burgerzaken")
    await browsers[0].open(room.room)
    status, state = await browsers[0].call("GET", room.room, "", room.seat(Role.RESIDENT).token)
    assert status == 200 and state["required"] is False
    resident = await SignalClient.connect(browsers[0].http, server)
    assert (await resident.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
    await resident.close()


async def test_a_resident_who_chose_english_reads_the_identity_step_in_english(
    server: LiveServer, browsers: list[Browser]
) -> None:
    resident, specialist = browsers[0], browsers[1]
    for browser in (resident, specialist):
        browser.http.cookie_jar.update_cookies({COOKIE: "en"}, URL(server.url))
    room = gated_room(server)
    await resident.open(room.room)
    token = room.seat(Role.RESIDENT).token
    status, state = await resident.call("GET", room.room, "", token)
    assert [a["label"] for a in state["attributes"]] == ["Citizen service number (BSN)", "Name"]
    # a refusal says what to do, in English; its code stays the same
    status, refused = await verify(
        resident, room, {"irma-demo.gemeente.personalData.bsn": FAKE_BSN}
    )
    assert (status, refused["code"]) == (403, "refused-missing-attributes")
    assert refused["detail"].startswith("We did not get all the details this call needs.")
    status, verdict = await verify(resident, room, DEMO_VALUES)
    assert status == 200 and [a["label"] for a in verdict["attributes"]] == [
        "Citizen service number (BSN)",
        "Name",
    ]
    status, panel = await specialist.call("GET", room.room, "", room.seat(Role.SPECIALIST).token)
    assert {row["name"]: row["label"] for row in panel["attributes"]} == {
        "bsn": "Citizen service number (BSN)",
        "full_name": "Name",
    }
