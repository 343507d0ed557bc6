"""What a link between two nodes carries, free of I/O: frames, each behind its length.

A link is a TCP connection from one node straight to another (``server/call/node_link.py``)
that carries the same sealed envelopes as Redis (``signaling/bus_wire.py``), one hop instead
of two. The channel travels beside its envelope, as on Redis: the envelope is sealed to it,
so an envelope moved to another channel does not open.

The connecting node speaks first with a hello sealed under the cluster key, naming itself
(the sender) and the node it meant to reach (the frame); the other answers with a hello of
its own the same way. A node without the key can neither open a link nor forge what one
carries; what it could replay is dropped by the receiver's gap check as a duplicate.

Frames (all integers big-endian)::

    length (4, of what follows) | kind (1) | body
    HELLO  body: sealed hello
    SEND   body: channel length (2) | channel | sealed envelope       (no answer)
    ASK    body: ask id (4) | channel length (2) | channel | sealed envelope
    HEARD  body: ask id (4) | listeners (1)                           (the answer to an ASK)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from signaling.bus import Envelope
from signaling.bus_wire import Sealer
from signaling.errors import BusWireError

#: the channel hellos are sealed to (bus channels carry a prefix and a kind: no clash)
HELLO_CHANNEL: Final = "link.hello"
#: the largest frame a link takes: a WebSocket frame (at most 64 KiB, docs/signaling.md)
#: sealed, with room to spare
MAX_FRAME: Final = 256 * 1024
_LENGTH: Final = struct.Struct(">I")
_ASK: Final = struct.Struct(">IH")
_HEARD: Final = struct.Struct(">IB")


class Kind(IntEnum):
    HELLO = 1
    SEND = 2
    ASK = 3
    HEARD = 4


@dataclass(frozen=True, slots=True)
class Hello:
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Send:
    channel: str
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Ask:
    ask_id: int
    channel: str
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Heard:
    ask_id: int
    listeners: int


Frame = Hello | Send | Ask | Heard


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as (host, port); ValueError if the port is no number."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    """(host, port) as :func:`split_address` reads it back, brackets for IPv6."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hello(sealer: Sealer, sender: str, recipient: str) -> bytes:
    """The hello ``sender`` opens (or answers) a link to ``recipient`` with."""
    sealed = sealer.seal(HELLO_CHANNEL, sender, 0, Envelope(frame=recipient.encode()))
    return _frame(Kind.HELLO, sealed)


def open_hello(sealer: Sealer, frame: Hello, recipient: str) -> str:
    """The node that sent a hello meant for ``recipient``; :class:`BusWireError` if it does
    not open or was meant for another node."""
    delivery = sealer.open(HELLO_CHANNEL, frame.sealed)
    if delivery.envelope.frame != recipient.encode() or not delivery.sender:
        raise BusWireError("a link hello meant for another node")
    return delivery.sender


def send(channel: str, sealed: bytes) -> bytes:
    return _frame(Kind.SEND, _channel(channel) + sealed)


def ask(ask_id: int, channel: str, sealed: bytes) -> bytes:
    name = channel.encode()
    return _frame(Kind.ASK, _ASK.pack(ask_id, len(name)) + name + sealed)


def heard(ask_id: int, listeners: int) -> bytes:
    return _frame(Kind.HEARD, _HEARD.pack(ask_id, min(listeners, 255)))


def _channel(channel: str) -> bytes:
    name = channel.encode()
    return len(name).to_bytes(2, "big") + name


def _frame(kind: Kind, body: bytes) -> bytes:
    if len(body) + 1 > MAX_FRAME:
        raise BusWireError("a link frame larger than a link takes")
    return _LENGTH.pack(len(body) + 1) + bytes((kind,)) + body


class FrameReader:
    """Cuts what a link reads into frames; :class:`BusWireError` for anything malformed
    (the link is closed then: a stream out of step cannot be trusted again)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buffer = self._buffer
        at = 0
        while len(buffer) - at >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, at)
            if not 0 < length <= MAX_FRAME:
                raise BusWireError(f"a link frame of {length} bytes")
            end = at + _LENGTH.size + length
            if len(buffer) < end:
                break
            frames.append(_parse(bytes(buffer[at + _LENGTH.size : end])))
            at = end
        del buffer[:at]
        return frames


def _parse(body: bytes) -> Frame:
    kind, rest = body[0], body[1:]
    try:
        if kind == Kind.SEND:
            length = int.from_bytes(rest[:2], "big")
            return Send(_name(rest[2 : 2 + length], length), rest[2 + length :])
        if kind == Kind.ASK:
            ask_id, length = _ASK.unpack_from(rest)
            start = _ASK.size
            return Ask(ask_id, _name(rest[start : start + length], length), rest[start + length :])
        if kind == Kind.HEARD:
            ask_id, listeners = _HEARD.unpack(rest)
            return Heard(ask_id, listeners)
        if kind == Kind.HELLO:
            return Hello(rest)
    except (struct.error, UnicodeDecodeError):
        raise BusWireError("a link frame that does not parse") from None
    raise BusWireError(f"a link frame of unknown kind {kind}")


def _name(data: bytes, length: int) -> str:
    if len(data) != length or not length:
        raise BusWireError("a link frame with a cut channel")
    return data.decode()
