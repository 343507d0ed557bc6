"""The wire edge: client frames in, server frames out.

``decode_client_message`` turns one text frame into a typed message or raises
a :class:`~signaling.errors.ProtocolError`; ``encode_server_message`` turns a
server message into a text frame. Nothing else in Balie touches JSON frames.

Relayed payloads (session descriptions, ICE candidates) are rebuilt from the
fields we know, so a client can never smuggle extra fields to a peer.

The two relayed messages are most of what a call's socket carries (a negotiation is an
offer, an answer and a dozen candidates), so their parsers are written for speed: one
lookup per field, the id check cached (:func:`is_id`), and the payload object reused when it
already holds exactly the known fields (orjson made it for this frame alone).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import orjson

from signaling.channels import Channel
from signaling.errors import BadJson, BadMessage, ProtocolError, UnknownType

MAX_ID: Final = 64
MAX_SDP: Final = 48_000
MAX_CANDIDATE: Final = 1_024
MAX_MID: Final = 64
MAX_UFRAG: Final = 256
MAX_CHAT: Final = 2_000
MAX_NOTE: Final = 500
MAX_TOKEN: Final = 4_096
MAX_SESSION_ID: Final = 128
MAX_SEQ: Final = 2**53 - 1  # what a JavaScript number holds exactly

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: ids that matched ID_PATTERN lately: a call names the same few peers in every frame
_VALID_IDS: set[str] = set()
_VALID_IDS_LIMIT: Final = 4096
#: the fields of a candidate, all present and in this order: such an object is relayed as it
#: came (after its fields are checked)
_CANDIDATE_FIELDS: Final = ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment")
DESCRIPTION_TYPES: Final = frozenset({"offer", "answer", "pranswer", "rollback"})
#: what a ``report`` tells the server (docs/signaling.md, "Reports")
REPORT_EVENTS: Final = frozenset({"connected", "ice-failed"})
#: the path a connected peer connection took: straight (host, srflx) or through TURN
REPORT_ROUTES: Final = frozenset({"direct", "relay"})
#: the longest setup a report may name, in milliseconds (ten minutes)
MAX_SETUP_MS: Final = 600_000
CHANNELS: Final = frozenset(channel.value for channel in Channel)

JsonObject: TypeAlias = dict[str, Any]
_MISSING: Final = object()

# The messages are not frozen dataclasses: a frozen one sets each field through
# object.__setattr__, which made building one about four times as costly, once
# per relayed frame. Nothing changes a message after it is parsed.


@dataclass(slots=True)
class Join:
    token: str
    #: the room the page expects; a token for another room is refused
    room: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class Resume:
    session_id: str
    last_seq: int
    seq: int | None = None


@dataclass(slots=True)
class Admit:
    participant_id: str
    seq: int | None = None


@dataclass(slots=True)
class Deny:
    participant_id: str
    message: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class Hold:
    participant_id: str
    message: str
    seq: int | None = None


@dataclass(slots=True)
class Description:
    to: str
    description: JsonObject
    seq: int | None = None


@dataclass(slots=True)
class Candidate:
    to: str
    candidate: JsonObject | None
    seq: int | None = None


@dataclass(slots=True)
class Media:
    audio: bool
    video: bool
    seq: int | None = None


@dataclass(slots=True)
class Chat:
    text: str
    seq: int | None = None


@dataclass(slots=True)
class Leave:
    seq: int | None = None


@dataclass(slots=True)
class End:
    seq: int | None = None


@dataclass(slots=True)
class Ping:
    ts: float
    seq: int | None = None
    #: the highest server ``seq`` the client has received: what it will never ask to have
    #: replayed, so the seat's replay buffer lets go of it
    last_seq: int | None = None


@dataclass(slots=True)
class Report:
    """What a client measured of its own peer connection, for the server's metrics."""

    #: ``connected`` (the first time a peer connection connected) or ``ice-failed``
    event: str
    #: with ``connected``: milliseconds from both sides being in the call to connected
    setup_ms: int | None = None
    #: with ``connected``: ``direct`` or ``relay`` (TURN); None when the client could not tell
    route: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class Switch:
    """A specialist asks the residents to switch the call to a richer channel."""

    channel: Channel
    seq: int | None = None


@dataclass(slots=True)
class SwitchAnswer:
    """A resident's answer to a ``switch``: yes or no to that channel."""

    channel: Channel
    accept: bool
    seq: int | None = None


#: what changes no more than a room's numbering and replay buffers, and what the peers send
#: again after a resync or on their own (a ping every few seconds): the scale-out hub writes
#: such changes down lazily. Not chat: a person typed it, and no resync brings it back.
WRITTEN_LAZILY: Final = (Description, Candidate, Media, Ping)

ClientMessage: TypeAlias = (
    Join
    | Resume
    | Admit
    | Deny
    | Hold
    | Description
    | Candidate
    | Media
    | Chat
    | Leave
    | End
    | Ping
    | Report
    | Switch
    | SwitchAnswer
)


def decode_client_message(text: str | bytes) -> ClientMessage:
    """Parse and validate one client frame."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadJson("the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadMessage("field 'type' must be a string", _readable_seq(data))
    parse = _PARSERS.get(kind)
    seq = _seq(data)
    try:
        if parse is None:
            raise UnknownType(f"unknown message type {kind[:32]!r}")
        return parse(data, seq)
    except ProtocolError as exc:
        exc.ref = seq
        raise


def encode_server_message(message: JsonObject) -> bytes:
    """Serialise one server message to the UTF-8 payload of a text frame."""
    # orjson hands back its whole 4 KiB write buffer however short the JSON is; a seat keeps
    # up to REPLAY_LIMIT frames for resume, so keep a right-sized copy (a memcpy of the
    # frame) rather than 4 KiB per frame
    return bytes(memoryview(orjson.dumps(message)))


# -- field readers ---------------------------------------------------------


def _readable_seq(data: JsonObject) -> int | None:
    try:
        return _seq(data)
    except BadMessage:
        return None


def _seq(data: JsonObject) -> int | None:
    value = data.get("seq")
    if value is None:
        return None
    if type(value) is int and 1 <= value <= MAX_SEQ:  # not bool: JSON true is not a number
        return value
    return _int(data, "seq", 1, MAX_SEQ)  # raises


def _int(data: JsonObject, name: str, low: int, high: int) -> int:
    value = data.get(name)
    # bool is an int subclass in Python; JSON true is not a number
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadMessage(f"field {name!r} must be an integer from {low} to {high}")
    return value


def _str(data: JsonObject, name: str, limit: int, *, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise BadMessage(f"field {name!r} must be a string")
    if len(value) > limit:
        raise BadMessage(f"field {name!r} is longer than {limit} characters")
    if not empty and not value:
        raise BadMessage(f"field {name!r} must not be empty")
    return value


def _optional_str(data: JsonObject, name: str, limit: int) -> str | None:
    if data.get(name) is None:
        return None
    return _str(data, name, limit, empty=True)


def is_id(value: object) -> bool:
    """Whether ``value`` is a participant or room id (ID_PATTERN), remembering the last few
    thousand that were: the regular expression then runs once per peer, not once a frame."""
    if type(value) is not str:  # a list or object is unhashable and cannot be looked up
        return False
    if value in _VALID_IDS:
        return True
    if not ID_PATTERN.fullmatch(value):
        return False
    if len(_VALID_IDS) >= _VALID_IDS_LIMIT:
        _VALID_IDS.clear()
    _VALID_IDS.add(value)
    return True


def _id(data: JsonObject, name: str) -> str:
    value = data.get(name)
    if type(value) is str and (value in _VALID_IDS or is_id(value)):
        return value
    raise BadMessage(f"field {name!r} must be an id of 1 to {MAX_ID} letters, digits, - or _")


def _bool(data: JsonObject, name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise BadMessage(f"field {name!r} must be true or false")
    return value


def _object(data: JsonObject, name: str) -> JsonObject:
    value = data.get(name)
    if not isinstance(value, dict):
        raise BadMessage(f"field {name!r} must be an object")
    return value


# -- one parser per client message ------------------------------------------


def _join(data: JsonObject, seq: int | None) -> Join:
    room = _id(data, "room") if data.get("room") is not None else None
    return Join(_str(data, "token", MAX_TOKEN), room, seq)


def _resume(data: JsonObject, seq: int | None) -> Resume:
    return Resume(_str(data, "session_id", MAX_SESSION_ID), _int(data, "last_seq", 0, MAX_SEQ), seq)


def _admit(data: JsonObject, seq: int | None) -> Admit:
    return Admit(_id(data, "participant_id"), seq)


def _deny(data: JsonObject, seq: int | None) -> Deny:
    return Deny(_id(data, "participant_id"), _optional_str(data, "message", MAX_NOTE), seq)


def _hold(data: JsonObject, seq: int | None) -> Hold:
    return Hold(_id(data, "participant_id"), _str(data, "message", MAX_NOTE), seq)


def _description(data: JsonObject, seq: int | None) -> Description:
    raw = _object(data, "description")
    kind = raw.get("type")
    # isinstance first: a list or object is unhashable and cannot be looked up
    if not isinstance(kind, str) or kind not in DESCRIPTION_TYPES:
        raise BadMessage("description.type must be offer, answer, pranswer or rollback")
    sdp = raw.get("sdp", "")
    if type(sdp) is not str or len(sdp) > MAX_SDP:
        sdp = _str(raw, "sdp", MAX_SDP, empty=True)  # raises, saying why
    if not sdp and kind != "rollback":
        raise BadMessage(f"description.sdp must not be empty for a {kind}")
    to = _id(data, "to")
    # exactly the two known fields, in the order they are relayed in: keep orjson's object
    if len(raw) != 2 or "sdp" not in raw or next(iter(raw)) != "type":
        raw = {"type": kind, "sdp": sdp}
    return Description(to, raw, seq)


def _candidate(data: JsonObject, seq: int | None) -> Candidate:
    to = _id(data, "to")
    raw = data.get("candidate", _MISSING)
    if raw is None:
        return Candidate(to, None, seq)
    if type(raw) is dict and tuple(raw) == _CANDIDATE_FIELDS:
        # what a browser sends (RTCIceCandidate.toJSON()): check each field in place
        text, mid, index, ufrag = (
            raw["candidate"],
            raw["sdpMid"],
            raw["sdpMLineIndex"],
            raw["usernameFragment"],
        )
        if (
            type(text) is str
            and len(text) <= MAX_CANDIDATE
            and (mid is None or (type(mid) is str and len(mid) <= MAX_MID))
            and (index is None or (type(index) is int and 0 <= index <= 1024))
            and (ufrag is None or (type(ufrag) is str and len(ufrag) <= MAX_UFRAG))
        ):
            return Candidate(to, raw, seq)
    return Candidate(to, _clean_candidate(data), seq)


def _clean_candidate(data: JsonObject) -> JsonObject:
    """The candidate rebuilt from its known fields, or the reason it cannot be."""
    if "candidate" not in data:
        raise BadMessage("field 'candidate' is required (null ends the candidates)")
    raw = data["candidate"]
    if not isinstance(raw, dict):
        raise BadMessage("field 'candidate' must be an object or null")
    clean: JsonObject = {"candidate": _str(raw, "candidate", MAX_CANDIDATE, empty=True)}
    clean["sdpMid"] = _optional_str(raw, "sdpMid", MAX_MID)
    if raw.get("sdpMLineIndex") is None:
        clean["sdpMLineIndex"] = None
    else:
        clean["sdpMLineIndex"] = _int(raw, "sdpMLineIndex", 0, 1024)
    clean["usernameFragment"] = _optional_str(raw, "usernameFragment", MAX_UFRAG)
    return clean


def _media(data: JsonObject, seq: int | None) -> Media:
    return Media(_bool(data, "audio"), _bool(data, "video"), seq)


def _chat(data: JsonObject, seq: int | None) -> Chat:
    text = _str(data, "text", MAX_CHAT)
    if not text.strip():
        raise BadMessage("field 'text' must not be blank")
    return Chat(text, seq)


def _leave(data: JsonObject, seq: int | None) -> Leave:
    return Leave(seq)


def _end(data: JsonObject, seq: int | None) -> End:
    return End(seq)


def _ping(data: JsonObject, seq: int | None) -> Ping:
    ts = data.get("ts")
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        raise BadMessage("field 'ts' must be a number")
    last_seq = data.get("last_seq")
    if last_seq is not None and (type(last_seq) is not int or last_seq < 0):
        raise BadMessage("field 'last_seq' must be a whole number, 0 or more")
    return Ping(float(ts), seq, last_seq)


def _report(data: JsonObject, seq: int | None) -> Report:
    kind = data.get("event")
    if not isinstance(kind, str) or kind not in REPORT_EVENTS:
        raise BadMessage("field 'event' must be connected or ice-failed")
    if kind != "connected":
        return Report(kind, seq=seq)
    setup_ms = _int(data, "setup_ms", 0, MAX_SETUP_MS)
    route = data.get("route")
    if route is not None and (not isinstance(route, str) or route not in REPORT_ROUTES):
        raise BadMessage("field 'route' must be direct or relay")
    return Report(kind, setup_ms, route, seq)


def _channel(data: JsonObject) -> Channel:
    value = data.get("channel")
    # isinstance first: a list or object is unhashable and cannot be looked up
    if not isinstance(value, str) or value not in CHANNELS:
        raise BadMessage("field 'channel' must be video, voice or chat")
    return Channel(value)


def _switch(data: JsonObject, seq: int | None) -> Switch:
    return Switch(_channel(data), seq)


def _switch_answer(data: JsonObject, seq: int | None) -> SwitchAnswer:
    return SwitchAnswer(_channel(data), _bool(data, "accept"), seq)


_PARSERS: Final[dict[str, Callable[[JsonObject, int | None], ClientMessage]]] = {
    "join": _join,
    "resume": _resume,
    "admit": _admit,
    "deny": _deny,
    "hold": _hold,
    "description": _description,
    "candidate": _candidate,
    "media": _media,
    "chat": _chat,
    "leave": _leave,
    "end": _end,
    "ping": _ping,
    "report": _report,
    "switch": _switch,
    "switch-answer": _switch_answer,
}
