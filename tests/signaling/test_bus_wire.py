"""Sealed bus envelopes: round trip, rotation, and everything that must not open."""

from __future__ import annotations

import os

import pytest

from signaling.bus import Envelope
from signaling.bus_wire import Delivery, GapCheck, Numbering, Sealer
from signaling.errors import BusWireError

KEY_A = {"a": os.urandom(32)}
KEY_B = {"b": os.urandom(32)}
CANARY = b'{"type":"chat","text":"Test Persoon 999999990"}'


def test_an_envelope_opens_as_it_was_sealed() -> None:
    sealer = Sealer(KEY_A)
    for envelope in (
        Envelope(frame=CANARY),
        Envelope(close_code=4409, close_reason="replaced"),
        Envelope(frame=CANARY, close_code=1001, close_reason="bye"),
        Envelope(frame=b""),
    ):
        sealed = sealer.seal("balie:s.1", "node-1", 7, envelope)
        assert CANARY not in sealed and b"Persoon" not in sealed
        assert sealer.open("balie:s.1", sealed) == Delivery("node-1", 7, envelope)


def test_a_rotated_ring_opens_what_the_old_key_sealed() -> None:
    old = Sealer(KEY_A)
    rotated = Sealer({**KEY_B, **KEY_A})  # b seals now, a still opens
    sealed = old.seal("c", "n", 1, Envelope(frame=CANARY))
    assert rotated.open("c", sealed).envelope.frame == CANARY
    with pytest.raises(BusWireError):  # a node without the new key cannot open the new seal
        old.open("c", rotated.seal("c", "n", 2, Envelope(frame=CANARY)))


def test_what_must_not_open_does_not() -> None:
    sealer = Sealer(KEY_A)
    sealed = sealer.seal("room.1", "n", 1, Envelope(frame=CANARY))
    tampered = sealed[:-1] + bytes((sealed[-1] ^ 1,))
    for channel, data in (
        ("room.2", sealed),  # replayed on another channel
        ("room.1", tampered),
        ("room.1", b""),
        ("room.1", b"\x01"),
        ("room.1", b"\x02" + sealed[1:]),  # another version
        ("room.1", os.urandom(64)),
    ):
        with pytest.raises(BusWireError):
            sealer.open(channel, data)
    with pytest.raises(BusWireError, match="key this node does not have"):
        Sealer(KEY_B).open("room.1", sealed)


def test_keys_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        Sealer({"short": b"x" * 16})
    with pytest.raises(ValueError):
        Sealer({})


def test_numbers_count_per_channel_and_gaps_and_repeats_are_seen() -> None:
    numbering, gaps = Numbering(), GapCheck()
    assert [numbering.next("x") for _ in range(3)] == [1, 2, 3]
    assert numbering.next("y") == 1

    def seen(sender: str, number: int) -> tuple[bool, bool]:
        return gaps.see("x", Delivery(sender, number, Envelope(frame=b"{}")))

    assert seen("a", 5) == (True, False)  # a late subscriber starts where it joins
    assert seen("a", 6) == (True, False)
    assert seen("a", 6) == (False, False)  # a repeat is dropped
    assert seen("a", 9) == (True, True)  # 7 and 8 went missing
    assert seen("b", 1) == (True, False)  # numbering is per sender
    gaps.forget("x")
    assert seen("a", 20) == (True, False)
