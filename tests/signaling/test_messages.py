"""The wire codec: every client message, valid and invalid, with plain values."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.errors import BadJson, BadMessage, ProtocolError, UnknownType
from signaling.messages import (
    MAX_CANDIDATE,
    MAX_CHAT,
    MAX_ID,
    MAX_MID,
    MAX_NOTE,
    MAX_SDP,
    MAX_SEQ,
    MAX_SESSION_ID,
    MAX_TOKEN,
    MAX_UFRAG,
    Admit,
    Candidate,
    Chat,
    ClientMessage,
    Deny,
    Description,
    End,
    Hold,
    Join,
    Leave,
    Media,
    Ping,
    Resume,
    decode_client_message,
    encode_server_message,
)


def frame(**fields: Any) -> str:
    return orjson.dumps(fields).decode()


def refused(text: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_client_message(text)
    return caught.value


OFFER = {"type": "offer", "sdp": "v=0\r\n"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}

# -- every message type, valid ------------------------------------------------

VALID: list[tuple[dict[str, Any], ClientMessage]] = [
    ({"type": "join", "token": "t.o.k"}, Join("t.o.k")),
    ({"type": "join", "token": "t", "room": "r_1", "seq": 1}, Join("t", "r_1", 1)),
    ({"type": "join", "token": "t", "room": None}, Join("t")),
    ({"type": "resume", "session_id": "s", "last_seq": 0}, Resume("s", 0)),
    ({"type": "resume", "session_id": "s", "last_seq": MAX_SEQ}, Resume("s", MAX_SEQ)),
    ({"type": "admit", "participant_id": "p_1", "seq": 3}, Admit("p_1", 3)),
    ({"type": "deny", "participant_id": "p-1"}, Deny("p-1")),
    ({"type": "deny", "participant_id": "p", "message": "Sorry"}, Deny("p", "Sorry")),
    ({"type": "deny", "participant_id": "p", "message": None}, Deny("p", None)),
    ({"type": "hold", "participant_id": "p", "message": "Even geduld"}, Hold("p", "Even geduld")),
    ({"type": "description", "to": "p", "description": OFFER}, Description("p", OFFER)),
    (
        {"type": "description", "to": "p", "description": {"type": "rollback"}},
        Description("p", {"type": "rollback", "sdp": ""}),
    ),
    (
        {"type": "description", "to": "p", "description": {"type": "answer", "sdp": "x"}},
        Description("p", {"type": "answer", "sdp": "x"}),
    ),
    (
        {"type": "description", "to": "p", "description": {"type": "pranswer", "sdp": "x"}},
        Description("p", {"type": "pranswer", "sdp": "x"}),
    ),
    ({"type": "candidate", "to": "p", "candidate": CANDIDATE}, Candidate("p", CANDIDATE)),
    ({"type": "candidate", "to": "p", "candidate": None}, Candidate("p", None)),
    (
        {"type": "candidate", "to": "p", "candidate": {"candidate": ""}},
        Candidate(
            "p",
            {"candidate": "", "sdpMid": None, "sdpMLineIndex": None, "usernameFragment": None},
        ),
    ),
    ({"type": "media", "audio": True, "video": False}, Media(True, False)),
    ({"type": "chat", "text": "Goedemiddag", "seq": 9}, Chat("Goedemiddag", 9)),
    ({"type": "chat", "text": "ë" * MAX_CHAT}, Chat("ë" * MAX_CHAT)),
    ({"type": "leave"}, Leave()),
    ({"type": "end", "seq": None}, End()),
    ({"type": "ping", "ts": 12.5}, Ping(12.5)),
    ({"type": "ping", "ts": 0}, Ping(0.0)),
    ({"type": "ping", "ts": -3}, Ping(-3.0)),
    ({"type": "ping", "ts": 1, "last_seq": 0}, Ping(1.0, last_seq=0)),
    ({"type": "ping", "ts": 1, "last_seq": 17, "seq": 4}, Ping(1.0, 4, 17)),
]


@pytest.mark.parametrize(("data", "expected"), VALID, ids=lambda v: str(v)[:60])
def test_valid_message_decodes(data: dict[str, Any], expected: ClientMessage) -> None:
    assert decode_client_message(frame(**data)) == expected
    # bytes are accepted as well as str
    assert decode_client_message(frame(**data).encode()) == expected


def test_every_client_type_has_a_valid_case() -> None:
    documented = {
        "join",
        "resume",
        "admit",
        "deny",
        "hold",
        "description",
        "candidate",
        "media",
        "chat",
        "leave",
        "end",
        "ping",
    }
    assert {data["type"] for data, _ in VALID} == documented


def test_limits_are_the_documented_ones() -> None:
    assert (MAX_SDP, MAX_CANDIDATE, MAX_CHAT, MAX_NOTE, MAX_ID) == (48_000, 1_024, 2_000, 500, 64)


# -- invalid -------------------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any]]] = [
    # missing fields
    ("join without token", {"type": "join"}),
    ("resume without session", {"type": "resume", "last_seq": 1}),
    ("resume without last_seq", {"type": "resume", "session_id": "s"}),
    ("admit without id", {"type": "admit"}),
    ("deny without id", {"type": "deny"}),
    ("hold without message", {"type": "hold", "participant_id": "p"}),
    ("hold without id", {"type": "hold", "message": "x"}),
    ("description without to", {"type": "description", "description": OFFER}),
    ("description without body", {"type": "description", "to": "p"}),
    ("description without type", {"type": "description", "to": "p", "description": {"sdp": "x"}}),
    ("offer without sdp", {"type": "description", "to": "p", "description": {"type": "offer"}}),
    ("candidate without to", {"type": "candidate", "candidate": None}),
    ("candidate without candidate", {"type": "candidate", "to": "p"}),
    ("candidate without line", {"type": "candidate", "to": "p", "candidate": {"sdpMid": "0"}}),
    ("media without video", {"type": "media", "audio": True}),
    ("media without audio", {"type": "media", "video": True}),
    ("chat without text", {"type": "chat"}),
    ("ping without ts", {"type": "ping"}),
    # wrong types
    ("token is a number", {"type": "join", "token": 5}),
    ("token is empty", {"type": "join", "token": ""}),
    ("room is a number", {"type": "join", "token": "t", "room": 5}),
    ("room has bad chars", {"type": "join", "token": "t", "room": "../etc"}),
    ("session id is a list", {"type": "resume", "session_id": ["s"], "last_seq": 1}),
    ("last_seq is a string", {"type": "resume", "session_id": "s", "last_seq": "1"}),
    ("last_seq is negative", {"type": "resume", "session_id": "s", "last_seq": -1}),
    ("last_seq is a float", {"type": "resume", "session_id": "s", "last_seq": 1.5}),
    ("id is a number", {"type": "admit", "participant_id": 7}),
    ("id is empty", {"type": "admit", "participant_id": ""}),
    ("id has a space", {"type": "admit", "participant_id": "p 1"}),
    ("id has a slash", {"type": "admit", "participant_id": "p/1"}),
    ("id has unicode", {"type": "admit", "participant_id": "pé"}),
    ("id has a newline", {"type": "admit", "participant_id": "p\n"}),
    ("deny message is a number", {"type": "deny", "participant_id": "p", "message": 5}),
    ("hold message is empty", {"type": "hold", "participant_id": "p", "message": ""}),
    ("description is a string", {"type": "description", "to": "p", "description": "offer"}),
    ("description is null", {"type": "description", "to": "p", "description": None}),
    (
        "description type unknown",
        {"type": "description", "to": "p", "description": {"type": "bogus", "sdp": "x"}},
    ),
    (
        "sdp is a number",
        {"type": "description", "to": "p", "description": {"type": "offer", "sdp": 1}},
    ),
    ("candidate is a string", {"type": "candidate", "to": "p", "candidate": "candidate:1"}),
    ("candidate is a list", {"type": "candidate", "to": "p", "candidate": []}),
    (
        "candidate line is a number",
        {"type": "candidate", "to": "p", "candidate": {"candidate": 5}},
    ),
    (
        "sdpMid is a number",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMid": 0}},
    ),
    (
        "sdpMLineIndex is a string",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMLineIndex": "0"}},
    ),
    (
        "sdpMLineIndex is negative",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMLineIndex": -1}},
    ),
    (
        "sdpMLineIndex is huge",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMLineIndex": 1025}},
    ),
    ("audio is a string", {"type": "media", "audio": "true", "video": False}),
    ("audio is null", {"type": "media", "audio": None, "video": False}),
    ("audio is 1", {"type": "media", "audio": 1, "video": 0}),
    ("chat text is a number", {"type": "chat", "text": 5}),
    ("chat text is empty", {"type": "chat", "text": ""}),
    ("chat text is blank", {"type": "chat", "text": " \n\t "}),
    ("chat text is a list", {"type": "chat", "text": ["hi"]}),
    ("ts is a string", {"type": "ping", "ts": "1"}),
    ("ts is null", {"type": "ping", "ts": None}),
    ("ts is an object", {"type": "ping", "ts": {}}),
    ("ping last_seq negative", {"type": "ping", "ts": 1, "last_seq": -1}),
    ("ping last_seq a fraction", {"type": "ping", "ts": 1, "last_seq": 1.5}),
    ("ping last_seq true", {"type": "ping", "ts": 1, "last_seq": True}),
    ("ping last_seq a string", {"type": "ping", "ts": 1, "last_seq": "3"}),
    # bool where an integer is expected (bool is an int subclass in Python)
    ("seq is true", {"type": "ping", "ts": 1, "seq": True}),
    ("seq is false", {"type": "ping", "ts": 1, "seq": False}),
    ("last_seq is true", {"type": "resume", "session_id": "s", "last_seq": True}),
    (
        "sdpMLineIndex is true",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMLineIndex": True}},
    ),
    ("ts is true", {"type": "ping", "ts": True}),
    # seq out of range or of the wrong type
    ("seq is zero", {"type": "ping", "ts": 1, "seq": 0}),
    ("seq is negative", {"type": "ping", "ts": 1, "seq": -1}),
    ("seq is beyond 2**53-1", {"type": "ping", "ts": 1, "seq": MAX_SEQ + 1}),
    ("seq is u64 max", {"type": "ping", "ts": 1, "seq": 2**64 - 1}),
    ("seq is a float", {"type": "ping", "ts": 1, "seq": 1.0}),
    ("seq is a string", {"type": "ping", "ts": 1, "seq": "1"}),
    # type
    ("type missing", {"token": "t"}),
    ("type is a number", {"type": 1}),
    ("type is null", {"type": None}),
    ("type is a list", {"type": ["join"]}),
    ("type is an object", {"type": {"join": 1}}),
]

TOO_LONG: list[tuple[str, dict[str, Any]]] = [
    ("token", {"type": "join", "token": "t" * (MAX_TOKEN + 1)}),
    ("session id", {"type": "resume", "session_id": "s" * (MAX_SESSION_ID + 1), "last_seq": 0}),
    ("participant id", {"type": "admit", "participant_id": "p" * (MAX_ID + 1)}),
    ("to", {"type": "description", "to": "p" * (MAX_ID + 1), "description": OFFER}),
    ("room", {"type": "join", "token": "t", "room": "r" * (MAX_ID + 1)}),
    ("deny message", {"type": "deny", "participant_id": "p", "message": "m" * (MAX_NOTE + 1)}),
    ("hold message", {"type": "hold", "participant_id": "p", "message": "m" * (MAX_NOTE + 1)}),
    ("chat", {"type": "chat", "text": "c" * (MAX_CHAT + 1)}),
    (
        "sdp",
        {
            "type": "description",
            "to": "p",
            "description": {"type": "offer", "sdp": "s" * (MAX_SDP + 1)},
        },
    ),
    (
        "candidate line",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "c" * (MAX_CANDIDATE + 1)}},
    ),
    (
        "sdpMid",
        {"type": "candidate", "to": "p", "candidate": {"candidate": "", "sdpMid": "m" * 65}},
    ),
    (
        "usernameFragment",
        {
            "type": "candidate",
            "to": "p",
            "candidate": {"candidate": "", "usernameFragment": "u" * (MAX_UFRAG + 1)},
        },
    ),
]


@pytest.mark.parametrize(("why", "data"), INVALID + TOO_LONG, ids=lambda v: str(v)[:40])
def test_invalid_message_is_bad_message(why: str, data: dict[str, Any]) -> None:
    error = refused(frame(**data))
    assert isinstance(error, BadMessage), why
    assert error.code == "bad-message"


def test_fields_at_their_limit_are_accepted() -> None:
    limits: list[dict[str, Any]] = [
        {"type": "join", "token": "t" * MAX_TOKEN, "room": "r" * MAX_ID},
        {"type": "resume", "session_id": "s" * MAX_SESSION_ID, "last_seq": 0},
        {"type": "hold", "participant_id": "p" * MAX_ID, "message": "m" * MAX_NOTE},
        {"type": "description", "to": "p", "description": {"type": "offer", "sdp": "s" * MAX_SDP}},
        {
            "type": "candidate",
            "to": "p",
            "candidate": {
                "candidate": "c" * MAX_CANDIDATE,
                "sdpMid": "m" * MAX_MID,
                "sdpMLineIndex": 1024,
                "usernameFragment": "u" * MAX_UFRAG,
            },
        },
        {"type": "chat", "text": "c" * MAX_CHAT, "seq": MAX_SEQ},
    ]
    for data in limits:
        decode_client_message(frame(**data))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "not json",
        "{'type': 'ping'}",
        '{"type": "ping",}',
        '{"type": "ping", "ts": NaN}',
        '{"type": "ping", "ts": Infinity}',
        '{"type": "ping", "ts": -Infinity}',
        '{"type": "ping", "ts": 1e400}',
        '{"type": "chat", "text": "\\ud800"}',  # a lone surrogate could not be re-encoded
        '{"type": "ping"} {"type": "ping"}',
        "[" * 5000 + "]" * 5000,
        '{"a":' * 5000 + "1" + "}" * 5000,
    ],
    ids=lambda t: t[:30],
)
def test_not_json_is_bad_json(text: str) -> None:
    error = refused(text)
    assert isinstance(error, BadJson)
    assert error.code == "bad-json"


def test_invalid_utf8_bytes_are_bad_json() -> None:
    assert isinstance(refused(b'{"type": "chat", "text": "\xff\xfe"}'), BadJson)


@pytest.mark.parametrize(
    "text", ["1", "-5", "3.5", '"join"', "null", "true", "[]", '[{"type":"ping"}]']
)
def test_json_that_is_not_an_object_is_bad_message(text: str) -> None:
    assert isinstance(refused(text), BadMessage)


def test_deep_nesting_within_the_parser_limit_is_bad_message() -> None:
    nested = "[" * 200 + "]" * 200
    assert isinstance(refused('{"type": "chat", "text": ' + nested + "}"), BadMessage)
    assert isinstance(refused('{"type": ' + nested + "}"), BadMessage)


@pytest.mark.parametrize("kind", ["joined", "pong", "error", "JOIN", "join ", "", "x" * 10_000])
def test_unknown_type(kind: str) -> None:
    error = refused(frame(type=kind))
    assert isinstance(error, UnknownType)
    assert error.code == "unknown-type"
    # the message quotes at most a short prefix of what was sent
    assert len(error.message) < 100


@pytest.mark.parametrize(
    "body",
    [[], {}, ["offer"], {"offer": 1}],
    ids=["list", "object", "list-of-str", "object-of-int"],
)
def test_description_type_that_is_not_a_string_is_bad_message(body: object) -> None:
    """An unhashable ``description.type`` must be a ``bad-message``, not a crash.

    ``kind not in DESCRIPTION_TYPES`` tests membership of a list/dict in a
    frozenset, which raises TypeError (unhashable type) instead of BadMessage.
    """
    text = frame(type="description", to="p", description={"type": body, "sdp": "v=0"})
    try:
        decode_client_message(text)
    except BadMessage:
        return
    except Exception as exc:  # pragma: no cover - this is the bug being shown
        pytest.fail(f"decode raised {exc.__class__.__name__}: {exc} instead of BadMessage")
    pytest.fail("an unhashable description.type was accepted")


# -- relayed payloads are rebuilt ---------------------------------------------


def test_description_extra_fields_are_stripped() -> None:
    decoded = decode_client_message(
        frame(
            type="description",
            to="p",
            description={"type": "offer", "sdp": "v=0", "evil": "<script>", "from": "spoof"},
            extra="x",
            **{"from": "someone-else"},
        )
    )
    assert isinstance(decoded, Description)
    assert decoded.description == {"type": "offer", "sdp": "v=0"}


def test_candidate_extra_fields_are_stripped_and_optional_ones_filled() -> None:
    decoded = decode_client_message(
        frame(
            type="candidate",
            to="p",
            candidate={"candidate": "candidate:1", "sdpMid": "0", "relayProtocol": "x", "x": [1]},
        )
    )
    assert isinstance(decoded, Candidate)
    assert decoded.candidate == {
        "candidate": "candidate:1",
        "sdpMid": "0",
        "sdpMLineIndex": None,
        "usernameFragment": None,
    }


def test_extra_top_level_fields_are_ignored() -> None:
    assert decode_client_message(frame(type="ping", ts=1, admin=True, to="p")) == Ping(1.0)


# -- encoding -------------------------------------------------------------------


def test_encode_server_message_round_trips() -> None:
    message = {"type": "chat", "from": "p", "text": "Dag “meneer” ë 🙂", "at": 1, "seq": 2}
    payload = encode_server_message(message)
    assert isinstance(payload, bytes)  # the payload of a text frame
    assert orjson.loads(payload) == message
    assert "ë" in payload.decode("utf-8")  # UTF-8, not escaped


# -- properties -----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "token",
        "room",
        "session_id",
        "last_seq",
        "participant_id",
        "message",
        "to",
        "description",
        "candidate",
        "audio",
        "video",
        "text",
        "ts",
        "seq",
        "type",
        "sdp",
        "sdpMid",
        "sdpMLineIndex",
        "usernameFragment",
    ]
)
KINDS = st.sampled_from(
    [
        *("join", "resume", "admit", "deny", "hold", "description", "candidate"),
        *("media", "chat", "leave", "end", "ping", "bogus"),
    ]
)


def nested_fields(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(FIELDS, inner, max_size=5)


MESSAGES = st.builds(
    lambda kind, fields, body: {**fields, "type": kind, **body},
    KINDS,
    nested_fields(JSON_VALUES | nested_fields(JSON_VALUES)),
    st.dictionaries(
        st.sampled_from(["description", "candidate"]), nested_fields(JSON_VALUES), max_size=2
    ),
)


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_decode_raises_only_protocol_errors_for_any_object(data: dict[str, Any]) -> None:
    try:
        decode_client_message(orjson.dumps(data))
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_decode_raises_only_protocol_errors_for_any_text(text: str | bytes) -> None:
    try:
        decode_client_message(text)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_decoded_messages_re_encode(data: dict[str, Any]) -> None:
    """Whatever decodes can be relayed: every string in it re-encodes."""
    try:
        decoded = decode_client_message(orjson.dumps(data))
    except ProtocolError:
        return
    if isinstance(decoded, Description):
        encode_server_message({"type": "description", "description": decoded.description})
    elif isinstance(decoded, Candidate):
        encode_server_message({"type": "candidate", "candidate": decoded.candidate})
    elif isinstance(decoded, Chat):
        encode_server_message({"type": "chat", "text": decoded.text})


def test_a_kept_frame_costs_about_its_own_size() -> None:
    """A seat keeps up to REPLAY_LIMIT frames for resume: a short frame must not hold a
    serialiser's whole write buffer (orjson's is 4 KiB), or a full replay costs 1 MiB."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [
            encode_server_message({"type": "chat", "text": "hoi", "seq": n}) for n in range(500)
        ]
        per_frame = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert per_frame < 256, per_frame
