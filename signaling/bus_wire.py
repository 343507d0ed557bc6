"""What a bus between nodes carries, free of I/O: sealed envelopes with a sender and a number.

Frames between nodes carry chat text and verified names, so nothing crosses the bus in
clear: an envelope is sealed with AES-256-GCM under a cluster key (a key ring by ``kid``,
the first seals, all open, so keys rotate without a stop). The channel is the associated
data, so a sealed envelope replayed on another channel does not open.

Each sending node numbers what it publishes, per channel, from 1. A receiver that sees a
number skip knows it missed envelopes (a Redis reconnect, a full buffer) and tells the
socket to resync (``resume`` replays from the seat's own numbering); it never guesses.

Layout of a sealed envelope (all integers big-endian)::

    version (1) | kid length (1) | kid | nonce (12) | AES-GCM( sender length (1) | sender |
        sequence (8) | close code (2, 0 = none) | reason length (1) | reason | frame )
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signaling.bus import Envelope
from signaling.errors import BusWireError

VERSION: Final = 1
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
#: a frame without a frame: a close order only
_NO_FRAME: Final = b""


@dataclass(frozen=True, slots=True)
class Delivery:
    """An opened envelope, with who sent it and its number on its channel."""

    sender: str
    sequence: int
    envelope: Envelope


class Sealer:
    """Seals and opens envelopes with the cluster key ring (the first key seals)."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("the bus needs at least one key")
        for kid, key in keys.items():
            if not 0 < len(kid.encode()) < 256 or len(key) != KEY_BYTES:
                raise ValueError(f"bus key {kid!r}: a name and {KEY_BYTES} bytes are needed")
        self._keys = {kid.encode(): AESGCM(key) for kid, key in keys.items()}
        self._sealing = next(iter(self._keys))

    def seal(self, channel: str, sender: str, sequence: int, envelope: Envelope) -> bytes:
        reason = envelope.close_reason.encode()[:255]
        body = b"".join(
            (
                _short(sender.encode()),
                struct.pack(">QH", sequence, envelope.close_code or 0),
                _short(reason),
                envelope.frame if envelope.frame is not None else _NO_FRAME,
            )
        )
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._sealing].encrypt(nonce, body, channel.encode())
        return bytes((VERSION,)) + _short(self._sealing) + nonce + sealed

    def open(self, channel: str, data: bytes) -> Delivery:
        try:
            if data[0] != VERSION:
                raise BusWireError(f"unknown bus envelope version {data[0]}")
            kid, rest = _read_short(data, 1)
            key = self._keys.get(kid)
            if key is None:
                raise BusWireError("a bus envelope sealed with a key this node does not have")
            nonce, sealed = data[rest : rest + NONCE_BYTES], data[rest + NONCE_BYTES :]
            body = key.decrypt(nonce, sealed, channel.encode())
            sender, at = _read_short(body, 0)
            sequence, close_code = struct.unpack_from(">QH", body, at)
            reason, at = _read_short(body, at + 10)
        except (IndexError, struct.error, InvalidTag):
            raise BusWireError("a bus envelope that does not open") from None
        frame = body[at:]
        return Delivery(
            sender=sender.decode(),
            sequence=sequence,
            envelope=Envelope(
                frame=frame if frame or not close_code else None,
                close_code=close_code or None,
                close_reason=reason.decode(errors="replace"),
            ),
        )


def _short(value: bytes) -> bytes:
    if len(value) > 255:
        raise ValueError("at most 255 bytes")
    return bytes((len(value),)) + value


def _read_short(data: bytes, at: int) -> tuple[bytes, int]:
    length = data[at]
    end = at + 1 + length
    if end > len(data):
        raise IndexError(at)
    return data[at + 1 : end], end


class Numbering:
    """The numbers this node gives what it publishes, per channel, from 1."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, channel: str) -> int:
        number = self._next.get(channel, 0) + 1
        self._next[channel] = number
        return number

    def forget(self, channel: str) -> None:
        self._next.pop(channel, None)


class GapCheck:
    """Per channel and sender, the last number seen: says whether envelopes went missing.

    The first envelope from a sender on a channel sets the start (a receiver that subscribed
    late has not missed anything it could have had). A number at or below the last one is a
    duplicate and is dropped.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}

    def see(self, channel: str, delivery: Delivery) -> tuple[bool, bool]:
        """(deliver it, something was missed before it)."""
        key = (channel, delivery.sender)
        last = self._last.get(key)
        if last is not None and delivery.sequence <= last:
            return False, False
        self._last[key] = delivery.sequence
        return True, last is not None and delivery.sequence > last + 1

    def forget(self, channel: str) -> None:
        for key in [key for key in self._last if key[0] == channel]:
            del self._last[key]
