"""Switching a call's channel through the server (docs/signaling.md, "Switching channel"):
over real loopback sockets the hub names the room's channel from the tokens, relays the
question and the answer and refuses what the room refuses; and a room written down for
another node (signaling/room_state.py) keeps its channel and an open question."""

from __future__ import annotations

import time

import aiohttp
import orjson

from server.call.rooms import new_id
from server.core.appkeys import KEYS
from signaling.channels import Channel
from signaling.messages import Admit, Switch
from signaling.roles import Role
from signaling.room import Room
from signaling.room_state import RoomState, dump_state, load_state
from signaling.tokens import issue_room_token
from tests.support import LiveServer, SignalClient


def tokens(server: LiveServer, channel: Channel) -> dict[Role, str]:
    """A resident's and a specialist's token for a new room, both naming ``channel``."""
    room = new_id("r")
    return {
        role: issue_room_token(
            server.app[KEYS],
            issuer=server.config.tokens.issuer,
            room=room,
            participant_id=new_id("p"),
            role=role,
            now=int(time.time()),
            ttl=600,
            channel=channel,
        )
        for role in (Role.RESIDENT, Role.SPECIALIST)
    }


async def test_a_chat_switches_to_video_over_the_wire(
    server: LiveServer, session: aiohttp.ClientSession
) -> None:
    issued = tokens(server, Channel.CHAT)
    specialist = await SignalClient.connect(session, server)
    joined = await specialist.join(issued[Role.SPECIALIST])
    assert joined["channel"] == "chat"  # the hub handed the token's claim to the room
    resident = await SignalClient.connect(session, server)
    assert (await resident.join(issued[Role.RESIDENT]))["channel"] == "chat"
    await specialist.send(type="admit", participant_id=resident.participant_id)
    assert (await resident.expect("admitted"))["channel"] == "chat"

    # a downgrade and a resident's question are refused with their own codes
    ref = await specialist.send(type="switch", channel="chat")
    error = await specialist.expect("error")
    assert (error["code"], error["ref"]) == ("not-an-upgrade", ref)
    await resident.send(type="switch", channel="video")
    assert (await resident.expect("error"))["code"] == "forbidden"
    await resident.send(type="switch-answer", channel="video", accept=True)
    error = await resident.expect("error")
    assert error["code"] == "not-allowed" and "'chat'" in error["message"]
    await specialist.send(type="switch", channel="fax")
    assert (await specialist.expect("error"))["code"] == "bad-message"

    await specialist.send(type="switch", channel="video")
    asked = await resident.expect("switch")
    assert (asked["from"], asked["channel"]) == (specialist.participant_id, "video")
    await resident.send(type="switch-answer", channel="video", accept=True)
    for client in (specialist, resident):
        answer = await client.expect("switch-answer")
        assert (answer["from"], answer["channel"], answer["accept"]) == (
            resident.participant_id,
            "video",
            True,
        )
    # the room remembers: a reload of the resident's page hears video, not its token's chat
    again = await SignalClient.connect(session, server)
    assert (await again.join(issued[Role.RESIDENT]))["channel"] == "video"


def test_a_written_room_keeps_its_channel_and_its_open_question() -> None:
    room = Room("r_1")
    room.join("s_1", Role.SPECIALIST, "sess-s", 1.0, {}, channel=Channel.CHAT)
    room.join("r_1", Role.RESIDENT, "sess-r", 2.0, {}, channel=Channel.CHAT)
    room.handle("s_1", Admit("r_1"), 3.0)
    room.handle("s_1", Switch(Channel.VOICE), 4.0)

    back = load_state(dump_state(RoomState(room))).room
    assert back.channel is Channel.CHAT and back.switch_asked is Channel.VOICE
    assert back.channel_state() == "chat, switch to voice asked"


def test_a_room_written_before_channels_switched_reads_back_without_one() -> None:
    room = Room("r_1")
    room.join("s_1", Role.SPECIALIST, "sess-s", 1.0, {}, channel=Channel.VOICE)
    raw = orjson.loads(dump_state(RoomState(room)))
    del raw["channel"], raw["switch_asked"]
    back = load_state(orjson.dumps(raw)).room
    # unknown: the next join names it; meanwhile nothing counts as richer than it
    assert back.channel is None and back.switch_asked is None
    assert back.channel_state() == "video"
