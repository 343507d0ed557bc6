"""The relay's fast path (issue 15): a description or candidate is checked field by field
and spliced into its frame, and what goes out is exactly what the general path made."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import signaling.messages as messages
from signaling.errors import BadMessage, NotAllowed, UnknownPeer
from signaling.messages import (
    Admit,
    Candidate,
    Description,
    decode_client_message,
    encode_server_message,
    is_id,
)
from signaling.roles import Role
from signaling.room import Room, Send

CANDIDATE: dict[str, Any] = {
    "candidate": "candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def call(sender: str = "p_a", receiver: str = "p_b") -> Room:
    room = Room("r1")
    room.join(sender, Role.SPECIALIST, "s-a", 0.0, {})
    room.join(receiver, Role.RESIDENT, "s-b", 0.0, {})
    room.handle(sender, Admit(receiver), 0.0)
    return room


def relayed(room: Room, text: str, sender: str = "p_a") -> Send:
    message = decode_client_message(text)
    assert isinstance(message, Description | Candidate)
    sent = room.relay(sender, message)
    assert sent is not None
    return sent


def frame(**fields: Any) -> str:
    return orjson.dumps(fields).decode()


def general(kind: str, sender: str, payload: Any, seq: int) -> bytes:
    """What Room._send made of a relayed message before the fast path."""
    return encode_server_message({"type": kind, "from": sender, kind: payload, "seq": seq})


@pytest.mark.parametrize(
    "payload",
    [
        CANDIDATE,
        None,
        {**CANDIDATE, "sdpMid": None, "sdpMLineIndex": None, "usernameFragment": None},
        {"candidate": ""},  # the end-of-candidates marker some browsers send
        {"usernameFragment": "abcd", "sdpMLineIndex": 1, "sdpMid": "1", "candidate": "c"},
    ],
)
def test_a_candidate_frame_is_the_one_the_general_path_made(payload: Any) -> None:
    room = call()
    before = room.seats["p_b"].seq
    sent = relayed(room, frame(type="candidate", to="p_b", candidate=payload, seq=7))
    # rebuilt from the known fields, in the documented order, as the general path does
    fields = ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment")
    clean = None if payload is None else {name: payload.get(name) for name in fields}
    assert sent.frame == general("candidate", "p_a", clean, before + 1)
    assert sent.message["candidate"] == clean
    assert list(sent.message) == ["type", "from", "candidate", "seq"]
    if clean is not None:  # relayed in the documented order, whatever order it came in
        assert list(clean) == ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"]
    assert room.seats["p_b"].sent[-1] == (before + 1, sent.frame)  # kept for a resume


@pytest.mark.parametrize(
    "description",
    [
        {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},
        {"sdp": "v=0\r\n", "type": "answer"},
        {"type": "rollback"},
        {"type": "offer", "sdp": "v=0", "extra": "<script>"},
    ],
)
def test_a_description_frame_is_the_one_the_general_path_made(
    description: dict[str, Any],
) -> None:
    room = call()
    sent = relayed(room, frame(type="description", to="p_b", description=description))
    clean = {"type": description["type"], "sdp": description.get("sdp", "")}
    assert sent.frame == general("description", "p_a", clean, room.seats["p_b"].seq)
    assert orjson.loads(sent.frame)["description"] == clean  # nothing smuggled


def test_a_sender_id_is_encoded_as_json() -> None:
    room = call(sender='p_"x\\')
    sent = relayed(room, frame(type="candidate", to="p_b", candidate=None), sender='p_"x\\')
    assert orjson.loads(sent.frame)["from"] == 'p_"x\\'


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("candidate", 1),
        ("candidate", "c" * (messages.MAX_CANDIDATE + 1)),
        ("sdpMid", 0),
        ("sdpMid", "m" * (messages.MAX_MID + 1)),
        ("sdpMLineIndex", True),
        ("sdpMLineIndex", -1),
        ("sdpMLineIndex", 1025),
        ("sdpMLineIndex", "0"),
        ("usernameFragment", ["a"]),
        ("usernameFragment", "u" * (messages.MAX_UFRAG + 1)),
    ],
)
def test_a_browser_shaped_candidate_is_still_checked_field_by_field(field: str, value: Any) -> None:
    with pytest.raises(BadMessage):
        decode_client_message(
            frame(type="candidate", to="p_b", candidate={**CANDIDATE, field: value})
        )


def test_the_relay_refuses_as_handle_does() -> None:
    room = call()
    room.join("p_c", Role.RESIDENT, "s-c", 0.0, {})  # waits in the lobby
    lobby = decode_client_message(frame(type="candidate", to="p_c", candidate=None))
    nobody = decode_client_message(frame(type="candidate", to="p_x", candidate=None))
    itself = decode_client_message(frame(type="candidate", to="p_a", candidate=None))
    assert isinstance(lobby, Candidate)
    assert isinstance(nobody, Candidate)
    assert isinstance(itself, Candidate)
    with pytest.raises(NotAllowed):
        room.relay("p_a", lobby)
    with pytest.raises(UnknownPeer):
        room.relay("p_a", nobody)
    with pytest.raises(UnknownPeer):
        room.relay("p_a", itself)
    with pytest.raises(NotAllowed):
        room.relay("p_c", Candidate("p_a", None))  # from the lobby
    with pytest.raises(UnknownPeer):
        room.relay("p_gone", Candidate("p_a", None))


def test_a_repeat_after_a_resume_is_relayed_once() -> None:
    room = call()
    first = room.relay("p_a", Candidate("p_b", None, seq=3))
    assert first is not None
    assert room.relay("p_a", Candidate("p_b", None, seq=3)) is None
    assert room.relay("p_a", Candidate("p_b", None, seq=2)) is None
    assert room.handle("p_a", Candidate("p_b", None, seq=3), 0.0) == []
    assert room.seats["p_a"].last_client_seq == 3


def test_handle_and_relay_make_the_same_frames() -> None:
    one, two = call(), call()
    for seq in range(1, 5):
        message = Candidate("p_b", dict(CANDIDATE), seq)
        [by_handle] = one.handle("p_a", message, 0.0)
        by_relay = two.relay("p_a", message)
        assert isinstance(by_handle, Send)
        assert by_relay is not None
        assert by_handle.frame == by_relay.frame
        assert by_handle == by_relay


def test_send_reads_its_message_back_from_the_frame() -> None:
    sent = Send("p_b", "s-b", None, b'{"type":"candidate","from":"p_a","candidate":null,"seq":1}')
    assert sent.message == {"type": "candidate", "from": "p_a", "candidate": None, "seq": 1}
    assert sent == Send(
        "p_b", "s-b", {"type": "candidate", "from": "p_a", "candidate": None, "seq": 1}
    )
    assert sent != Send("p_c", "s-b", sent.message)
    assert "p_a" in repr(sent)


@given(st.text(max_size=70))
def test_is_id_agrees_with_the_pattern(value: str) -> None:
    assert is_id(value) == bool(messages.ID_PATTERN.fullmatch(value))
    assert is_id(value) == bool(messages.ID_PATTERN.fullmatch(value))  # cached or not


@pytest.mark.parametrize("value", [None, 1, ["p_a"], {"p": 1}, "", "a b", "x" * 65])
def test_is_id_refuses_what_is_not_an_id(value: Any) -> None:
    assert not is_id(value)
    assert value not in messages._VALID_IDS if isinstance(value, str) else True


def test_the_id_cache_stays_bounded() -> None:
    for i in range(messages._VALID_IDS_LIMIT + 10):
        assert is_id(f"p_{i}")
    assert len(messages._VALID_IDS) <= messages._VALID_IDS_LIMIT
