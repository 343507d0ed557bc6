"""The /ws endpoint over real loopback sockets."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from signaling.roles import Role
from tests.support import LiveServer, SignalClient, seat_lobby, seat_pair


async def test_foreign_origin_gets_403_and_no_upgrade(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    for origin in ("https://evil.example", "null"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await session.ws_connect(server.ws_url, origin=origin)
        assert exc.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await session.ws_connect(server.ws_url)  # no Origin at all
    assert exc.value.status == 403


async def test_specialist_admits_resident_and_negotiation_is_relayed(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    room = server.issue_room()
    specialist = await SignalClient.connect(session, server)
    joined = await specialist.join(room.seat(Role.SPECIALIST).token, room=room.room)
    assert joined["state"] == "call" and joined["role"] == "specialist"
    assert joined["peers"] == []
    assert (await specialist.expect("lobby-update"))["waiting"] == []

    resident = await SignalClient.connect(session, server)
    joined = await resident.join(room.seat(Role.RESIDENT).token)
    assert joined["state"] == "lobby"
    assert (await resident.expect("lobby"))["state"] == "waiting"
    update = await specialist.expect("lobby-update")
    assert [w["id"] for w in update["waiting"]] == [resident.participant_id]

    await specialist.send(type="admit", participant_id=resident.participant_id)
    admitted = await resident.expect("admitted")
    assert admitted["peers"] == [
        {"id": specialist.participant_id, "role": "specialist", "polite": True}
    ]
    peer = (await specialist.expect("peer-joined"))["peer"]
    assert peer == {"id": resident.participant_id, "role": "resident", "polite": False}

    offer = {"type": "offer", "sdp": "v=0\r\n", "extra": "dropped"}
    await specialist.send(type="description", to=resident.participant_id, description=offer)
    relayed = await resident.expect("description")
    assert relayed["from"] == specialist.participant_id
    assert relayed["description"] == {"type": "offer", "sdp": "v=0\r\n"}
    await resident.send(type="candidate", to=specialist.participant_id, candidate=None)
    assert (await specialist.expect("candidate"))["candidate"] is None

    await resident.send(type="chat", text="Goedemiddag")
    for side in (specialist, resident):
        chat = await side.expect("chat")
        assert chat["text"] == "Goedemiddag" and chat["role"] == "resident"


async def test_lobby_participant_cannot_negotiate(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    specialist, resident, _ = await seat_lobby(session, server)
    seq = await resident.send(
        type="description",
        to=specialist.participant_id,
        description={"type": "offer", "sdp": "v=0"},
    )
    error = await resident.expect("error")
    assert error["code"] == "not-allowed" and error["ref"] == seq
    assert "lobby" in error["message"]
    # the room is unchanged: admitting still works
    await specialist.send(type="admit", participant_id=resident.participant_id)
    await resident.expect("admitted")


async def test_deny_closes_the_resident_with_4403(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    specialist, resident, _ = await seat_lobby(session, server)
    await specialist.send(
        type="hold", participant_id=resident.participant_id, message="Even geduld"
    )
    held = await resident.expect("lobby")
    while held["state"] != "on-hold":
        held = await resident.expect("lobby")
    assert held["message"] == "Even geduld"
    await specialist.send(type="deny", participant_id=resident.participant_id, message="Sorry")
    denied = await resident.expect("denied")
    assert denied["message"] == "Sorry"
    assert await resident.expect_close() == 4403


async def test_end_closes_everyone_and_the_room_stays_ended(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    specialist, resident, room = await seat_pair(session, server)
    await resident.send(type="end")
    assert (await resident.expect("error"))["code"] == "forbidden"
    await specialist.send(type="end")
    assert (await resident.expect("ended"))["by"] == "specialist"
    assert await resident.expect_close() == 4410
    assert await specialist.expect_close() == 4410
    late = await SignalClient.connect(session, server)
    await late.send(type="join", token=room.seat(Role.RESIDENT).token)
    assert await late.expect_close() == 4410


async def test_leave_tells_the_others(server: LiveServer, session: aiohttp.ClientSession) -> None:
    specialist, resident, _ = await seat_pair(session, server)
    await resident.send(type="leave")
    assert await resident.expect_close() == 1000
    left = await specialist.expect("peer-left")
    assert left == {**left, "id": resident.participant_id, "reason": "left"}


async def test_ping_is_answered(server: LiveServer, session: aiohttp.ClientSession) -> None:
    specialist, _, _ = await seat_pair(session, server)
    await specialist.send(type="ping", ts=12.5)
    assert (await specialist.expect("pong"))["ts"] == 12.5


async def test_a_denied_resident_cannot_come_straight_back(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    specialist, resident, room = await seat_lobby(session, server)
    await specialist.send(type="deny", participant_id=resident.participant_id)
    assert await resident.expect_close() == 4403
    again = await SignalClient.connect(session, server)
    await again.send(type="join", token=room.seat(Role.RESIDENT).token)
    error = await again.expect("error")
    assert error["code"] == "denied"
    assert await again.expect_close() == 4403
    # nobody new waits in the specialist's lobby
    await specialist.send(type="ping", ts=1)
    frames = []
    while (frame := await specialist.recv())["type"] != "pong":
        frames.append(frame)
    updates = [f["waiting"] for f in frames if f["type"] == "lobby-update"]
    assert updates and updates[-1] == []


async def test_a_seat_resumes_only_in_the_browser_that_holds_it(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    """A leaked session id does not move a (verified) seat to another browser."""
    room = server.issue_room()
    browser, other = "a" * 22, "b" * 22
    first = await SignalClient.connect(session, server, browser=browser)
    await first.join(room.seat(Role.SPECIALIST).token)
    await first.ws.close()
    thief = await SignalClient.connect(session, server, browser=other)
    thief.continue_from(first)
    await thief.send(type="resume", session_id=first.session_id, last_seq=0)
    assert await thief.expect_close() == 4404
    back = await SignalClient.connect(session, server, browser=browser)
    back.continue_from(first)
    assert (await back.resume())["type"] == "resumed"


async def test_admitting_and_ending_are_logged_by_id(
    server: LiveServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="balie.ws")
    specialist, resident, _ = await seat_pair(session, server)
    await specialist.send(type="end")
    assert await resident.expect_close() == 4410
    text = caplog.text
    assert "admitted room=" in text and f"participant={resident.participant_id}" in text
    assert "call ended room=" in text and f"by={specialist.participant_id}" in text
