"""The frames of a link between nodes (signaling/link_wire.py): cut at any byte, they come
out whole and in order; anything malformed is refused, never guessed at."""

from __future__ import annotations

import os

import pytest

from signaling import link_wire
from signaling.bus import Envelope
from signaling.bus_wire import Sealer
from signaling.errors import BusWireError

SEALER = Sealer({"k1": os.urandom(32)})


def test_frames_come_out_whole_however_the_bytes_are_cut() -> None:
    sealed = SEALER.seal("balie:room.1", "node-a", 1, Envelope(frame=b"{}"))
    stream = b"".join(
        (
            link_wire.hello(SEALER, "node-a", "node-b"),
            link_wire.send("balie:c.1", sealed),
            link_wire.ask(2**32 - 1, "balie:room.1", sealed),
            link_wire.heard(9, 1),
        )
    )
    for size in (1, 2, 7, len(stream)):
        reader = link_wire.FrameReader()
        frames: list[link_wire.Frame] = []
        for at in range(0, len(stream), size):
            frames += reader.feed(stream[at : at + size])
        hello, sent, asked, heard = frames
        assert isinstance(hello, link_wire.Hello)
        assert link_wire.open_hello(SEALER, hello, "node-b") == "node-a"
        assert sent == link_wire.Send("balie:c.1", sealed)
        assert asked == link_wire.Ask(2**32 - 1, "balie:room.1", sealed)
        assert heard == link_wire.Heard(9, 1)


def test_a_hello_opens_only_for_its_node_and_under_the_key() -> None:
    (hello,) = link_wire.FrameReader().feed(link_wire.hello(SEALER, "node-a", "node-b"))
    assert isinstance(hello, link_wire.Hello)
    with pytest.raises(BusWireError, match="another node"):
        link_wire.open_hello(SEALER, hello, "node-c")
    with pytest.raises(BusWireError, match="does not open"):
        link_wire.open_hello(Sealer({"k1": os.urandom(32)}), hello, "node-b")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x00\x00\x00\x00", "of 0 bytes"),
        ((link_wire.MAX_FRAME + 1).to_bytes(4, "big"), "bytes"),
        (b"\x00\x00\x00\x01\x09", "unknown kind 9"),
        (b"\x00\x00\x00\x03\x02\x00\x05", "cut channel"),
        (b"\x00\x00\x00\x04\x02\x00\x01\xff", "does not parse"),
        (b"\x00\x00\x00\x03\x04\x00\x01", "does not parse"),
    ],
)
def test_malformed_frames_are_refused(data: bytes, says: str) -> None:
    with pytest.raises(BusWireError, match=says):
        link_wire.FrameReader().feed(data)


def test_a_frame_larger_than_a_link_takes_is_not_made() -> None:
    with pytest.raises(BusWireError, match="larger"):
        link_wire.send("balie:c.1", bytes(link_wire.MAX_FRAME))
