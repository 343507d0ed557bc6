"""Switching a call's channel (docs/signaling.md, "Switching channel"): the codec and the
room's rules, with plain values.

A specialist may ask the residents in the call to switch to a richer channel (chat → voice
→ video); a resident answers; an accepted switch changes the room's channel, which later
``joined``, ``admitted`` and ``resumed`` frames carry. Every refusal changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from signaling.channels import Channel, richer
from signaling.errors import BadMessage, Forbidden, NotAllowed, NotAnUpgrade, RefusedError
from signaling.messages import (
    Admit,
    Leave,
    Switch,
    SwitchAnswer,
    decode_client_message,
)
from signaling.roles import Role
from signaling.room import Effect, Room, Send

T0 = 1_000.0


def join(room: Room, pid: str, role: Role, channel: Channel, now: float = T0) -> list[Effect]:
    return room.join(pid, role, f"sess-{pid}", now, {"ice_servers": []}, channel=channel)


def to(effects: list[Effect], pid: str) -> list[dict[str, Any]]:
    return [e.message for e in effects if isinstance(e, Send) and e.participant_id == pid]


def receivers(effects: list[Effect]) -> set[str]:
    return {e.participant_id for e in effects if isinstance(e, Send)}


def a_call(channel: Channel, *, guest_waiting: bool = True) -> Room:
    """A specialist and an admitted resident; a guest waiting in the lobby."""
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST, channel)
    join(room, "r_1", Role.RESIDENT, channel, T0 + 1)
    room.handle("s_1", Admit("r_1"), T0 + 2)
    if guest_waiting:
        join(room, "g_1", Role.GUEST, channel, T0 + 3)
    return room


def snapshot(room: Room) -> Any:
    """What a refused message must leave alone (the client seq is recorded either way)."""
    seats = {pid: (s.state, s.seq, copy.deepcopy(s.sent)) for pid, s in room.seats.items()}
    return room.state, room.channel, room.switch_asked, seats


def refused(room: Room, pid: str, message: Switch | SwitchAnswer) -> RefusedError:
    before = snapshot(room)
    with pytest.raises(RefusedError) as caught:
        room.handle(pid, message, T0 + 10)
    assert snapshot(room) == before
    return caught.value


# -- the codec ------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["video", "voice", "chat"])
def test_switch_and_its_answer_decode(channel: str) -> None:
    assert decode_client_message(orjson.dumps({"type": "switch", "channel": channel})) == Switch(
        Channel(channel)
    )
    answer = {"type": "switch-answer", "channel": channel, "accept": False, "seq": 3}
    assert decode_client_message(orjson.dumps(answer)) == SwitchAnswer(Channel(channel), False, 3)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "switch"},
        {"type": "switch", "channel": "fax"},
        {"type": "switch", "channel": "VIDEO"},
        {"type": "switch", "channel": ["video"]},
        {"type": "switch", "channel": None},
        {"type": "switch-answer", "channel": "video"},
        {"type": "switch-answer", "channel": "video", "accept": "yes"},
        {"type": "switch-answer", "channel": "video", "accept": 1},
        {"type": "switch-answer", "channel": "sms", "accept": True},
    ],
    ids=str,
)
def test_an_unknown_channel_or_a_missing_answer_is_a_bad_message(data: dict[str, Any]) -> None:
    with pytest.raises(BadMessage):
        decode_client_message(orjson.dumps({**data, "seq": 1}))


def test_richer_is_chat_then_voice_then_video() -> None:
    order = [Channel.CHAT, Channel.VOICE, Channel.VIDEO]
    for i, low in enumerate(order):
        for j, high in enumerate(order):
            assert richer(high, low) is (j > i)


# -- the room's channel -------------------------------------------------------------------


def test_the_first_join_names_the_rooms_channel_and_joined_carries_it() -> None:
    assert Room("r_1").channel is None
    room = Room("r_1")
    (joined, *_) = to(join(room, "s_1", Role.SPECIALIST, Channel.CHAT), "s_1")
    assert room.channel is Channel.CHAT and joined["channel"] == "chat"
    # a later token does not change it (the tokens of one room name the same channel)
    (joined, *_) = to(join(room, "r_1", Role.RESIDENT, Channel.VIDEO), "r_1")
    assert joined["channel"] == "chat"
    assert room.channel_state() == "chat"


# -- asking -------------------------------------------------------------------------------


def test_a_specialist_asks_and_only_the_residents_in_the_call_hear_it() -> None:
    room = a_call(Channel.CHAT)
    effects = room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    assert receivers(effects) == {"r_1"}  # not the specialist, not the guest in the lobby
    (asked,) = to(effects, "r_1")
    assert {k: v for k, v in asked.items() if k != "seq"} == {
        "type": "switch",
        "from": "s_1",
        "channel": "video",
    }
    assert asked["seq"] == room.seats["r_1"].seq  # numbered: a resume replays it
    assert room.channel is Channel.CHAT  # nothing switches before the resident says yes
    assert room.switch_asked is Channel.VIDEO
    assert room.channel_state() == "chat, switch to video asked"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Channel.CHAT, Channel.VOICE),
        (Channel.CHAT, Channel.VIDEO),
        (Channel.VOICE, Channel.VIDEO),
    ],
)
def test_every_upgrade_may_be_asked(current: Channel, target: Channel) -> None:
    room = a_call(current)
    assert to(room.handle("s_1", Switch(target), T0 + 5), "r_1")[0]["channel"] == target.value


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Channel.VIDEO, Channel.VOICE),
        (Channel.VIDEO, Channel.CHAT),
        (Channel.VOICE, Channel.CHAT),
        (Channel.CHAT, Channel.CHAT),
        (Channel.VOICE, Channel.VOICE),
        (Channel.VIDEO, Channel.VIDEO),
    ],
)
def test_a_downgrade_or_the_same_channel_is_refused(current: Channel, target: Channel) -> None:
    room = a_call(current)
    error = refused(room, "s_1", Switch(target))
    assert isinstance(error, NotAnUpgrade) and error.code == "not-an-upgrade"
    assert current.value in error.message


@pytest.mark.parametrize("pid", ["r_1", "g_1"])
def test_only_a_specialist_may_ask(pid: str) -> None:
    room = a_call(Channel.CHAT)
    if pid == "g_1":
        room.handle("s_1", Admit("g_1"), T0 + 4)
    error = refused(room, pid, Switch(Channel.VIDEO))
    assert isinstance(error, Forbidden) and error.code == "forbidden"


def test_asking_without_a_resident_in_the_call_is_refused() -> None:
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST, Channel.CHAT)
    join(room, "r_1", Role.RESIDENT, Channel.CHAT)  # waits in the lobby
    error = refused(room, "s_1", Switch(Channel.VIDEO))
    assert isinstance(error, NotAllowed) and error.code == "not-allowed"
    assert "no resident in the call" in error.message and "'chat," in error.message


def test_asking_again_replaces_the_question() -> None:
    room = a_call(Channel.CHAT)
    room.handle("s_1", Switch(Channel.VOICE), T0 + 5)
    effects = room.handle("s_1", Switch(Channel.VIDEO), T0 + 6)
    assert to(effects, "r_1")[0]["channel"] == "video"
    assert room.switch_asked is Channel.VIDEO
    # the answer to the old question no longer fits
    error = refused(room, "r_1", SwitchAnswer(Channel.VOICE, True))
    assert isinstance(error, NotAllowed) and "switch to video asked" in error.message


# -- answering ----------------------------------------------------------------------------


def test_yes_switches_the_room_and_everyone_in_the_call_hears_it() -> None:
    room = a_call(Channel.CHAT)
    room.handle("s_1", Admit("g_1"), T0 + 4)
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    effects = room.handle("r_1", SwitchAnswer(Channel.VIDEO, True), T0 + 6)
    assert receivers(effects) == {"s_1", "r_1", "g_1"}  # the resident's own page too
    for pid in ("s_1", "r_1", "g_1"):
        (answer,) = to(effects, pid)
        assert {k: v for k, v in answer.items() if k != "seq"} == {
            "type": "switch-answer",
            "from": "r_1",
            "channel": "video",
            "accept": True,
        }
    assert room.channel is Channel.VIDEO and room.switch_asked is None
    assert room.channel_state() == "video"


def test_no_keeps_the_channel_and_ends_the_question() -> None:
    room = a_call(Channel.VOICE)
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    effects = room.handle("r_1", SwitchAnswer(Channel.VIDEO, False), T0 + 6)
    assert receivers(effects) == {"s_1", "r_1"}
    assert to(effects, "s_1")[0]["accept"] is False
    assert room.channel is Channel.VOICE and room.switch_asked is None
    # answered once: a second answer has no question
    error = refused(room, "r_1", SwitchAnswer(Channel.VIDEO, True))
    assert isinstance(error, NotAllowed) and "'voice'" in error.message


def test_an_answer_without_a_question_is_refused_and_names_the_state() -> None:
    room = a_call(Channel.CHAT)
    error = refused(room, "r_1", SwitchAnswer(Channel.VIDEO, True))
    assert isinstance(error, NotAllowed) and error.code == "not-allowed"
    assert error.message == (
        "switch-answer for video is not allowed while the participant is in state 'chat'"
    )


def test_an_answer_for_another_channel_is_refused() -> None:
    room = a_call(Channel.CHAT)
    room.handle("s_1", Switch(Channel.VOICE), T0 + 5)
    error = refused(room, "r_1", SwitchAnswer(Channel.VIDEO, True))
    assert isinstance(error, NotAllowed) and "chat, switch to voice asked" in error.message


def test_only_a_resident_may_answer() -> None:
    room = a_call(Channel.CHAT)
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    error = refused(room, "s_1", SwitchAnswer(Channel.VIDEO, True))
    assert isinstance(error, Forbidden)


def test_a_resident_in_the_lobby_cannot_answer() -> None:
    room = a_call(Channel.CHAT)
    join(room, "r_2", Role.RESIDENT, Channel.CHAT, T0 + 4)  # a second resident, waiting
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    error = refused(room, "r_2", SwitchAnswer(Channel.VIDEO, True))
    assert isinstance(error, NotAllowed) and "'lobby'" in error.message


def test_the_question_ends_when_the_last_resident_leaves() -> None:
    room = a_call(Channel.CHAT)
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    room.handle("r_1", Leave(), T0 + 6)
    assert room.switch_asked is None and room.channel is Channel.CHAT


# -- who learns the channel later ------------------------------------------------------------


def test_late_joiners_admissions_and_resumes_get_the_switched_channel() -> None:
    room = a_call(Channel.CHAT)  # the guest waits in the lobby through the switch
    room.handle("s_1", Switch(Channel.VIDEO), T0 + 5)
    room.handle("r_1", SwitchAnswer(Channel.VIDEO, True), T0 + 6)
    (admitted, *_) = to(room.handle("s_1", Admit("g_1"), T0 + 7), "g_1")
    assert admitted["type"] == "admitted" and admitted["channel"] == "video"
    # a reload of the resident's page joins with the chat token: joined says video
    (joined, *_) = to(join(room, "r_1", Role.RESIDENT, Channel.CHAT, T0 + 8), "r_1")
    assert joined["type"] == "joined" and joined["channel"] == "video"
    # the specialist's socket dropped and comes back
    resumed = room.resume("sess-s_1", 0, T0 + 9)
    assert resumed.reply["channel"] == "video"
