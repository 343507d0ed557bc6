"""``report`` (docs/signaling.md, "Reports"): what a client measured of its peer
connection, validated strictly; the room takes it from a seat in the call only, counts its
``seq`` like any message, and sends nothing anywhere."""

from __future__ import annotations

import orjson
import pytest

from signaling.errors import BadMessage, NotAllowed
from signaling.messages import MAX_SETUP_MS, Admit, Report, decode_client_message
from signaling.roles import Role
from signaling.room import Room


def decode(**fields: object) -> object:
    return decode_client_message(orjson.dumps({"type": "report", **fields}))


def test_a_connected_report_with_its_setup_time_and_route() -> None:
    assert decode(event="connected", setup_ms=1234, route="relay", seq=4) == Report(
        "connected", 1234, "relay", 4
    )
    assert decode(event="connected", setup_ms=0) == Report("connected", 0, None)
    assert decode(event="connected", setup_ms=MAX_SETUP_MS, route="direct") == Report(
        "connected", MAX_SETUP_MS, "direct"
    )
    # an ICE failure names nothing else; what else it carries is not read
    assert decode(event="ice-failed", setup_ms="ignored") == Report("ice-failed")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"event": "exploded"},
        {"event": ["connected"]},
        {"event": "connected"},
        {"event": "connected", "setup_ms": -1},
        {"event": "connected", "setup_ms": MAX_SETUP_MS + 1},
        {"event": "connected", "setup_ms": 12.5},
        {"event": "connected", "setup_ms": True},
        {"event": "connected", "setup_ms": "1200"},
        {"event": "connected", "setup_ms": 1200, "route": "turn"},
        {"event": "connected", "setup_ms": 1200, "route": {"relay": True}},
        {"event": "connected", "setup_ms": 1200, "route": "192.0.2.1"},
    ],
    ids=str,
)
def test_a_report_out_of_shape_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(BadMessage):
        decode(**fields, seq=3)


def test_the_room_takes_a_report_from_the_call_only_and_sends_nothing() -> None:
    room = Room("r_1")
    room.join("p_spec", Role.SPECIALIST, "r_1.s1", 0.0, {})
    room.join("p_res", Role.RESIDENT, "r_1.s2", 0.0, {})
    with pytest.raises(NotAllowed):
        room.handle("p_res", Report("connected", 900, "direct", seq=1), 1.0)
    assert room.handle("p_spec", Report("connected", 900, "direct", seq=1), 1.0) == []
    room.handle("p_spec", Admit("p_res", seq=2), 1.0)
    assert room.handle("p_res", Report("ice-failed", seq=2), 2.0) == []
    assert room.seats["p_res"].last_client_seq == 2
    # sent again after a resume: a duplicate, dropped (and not counted again by the hub)
    assert room.handle("p_res", Report("ice-failed", seq=2), 2.0) == []
