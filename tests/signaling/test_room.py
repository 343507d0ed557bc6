"""The room state machine, driven with plain values and a fake clock."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.close_codes import CloseCode
from signaling.errors import Denied, Forbidden, NotAllowed, RefusedError, RoomFull, UnknownPeer
from signaling.messages import (
    Admit,
    Candidate,
    Chat,
    ClientMessage,
    Deny,
    Description,
    End,
    Hold,
    Join,
    JsonObject,
    Leave,
    Media,
    Ping,
    Resume,
)
from signaling.registry import Registry, new_session_id, room_of_session
from signaling.roles import Role, is_polite
from signaling.room import (
    DENIED_FOR,
    REPLAY_LIMIT,
    Close,
    Effect,
    Resumed,
    Room,
    Seat,
    Send,
)

T0 = 1_000.0
OFFER: JsonObject = {"type": "offer", "sdp": "v=0\r\n"}
_sessions = itertools.count(1)


def decoded_replay(resumed: Resumed) -> list[dict[str, Any]]:
    """The replayed frames, decoded."""
    return [orjson.loads(frame) for frame in resumed.replay]


def new_session(pid: str) -> str:
    return f"sess-{pid}-{next(_sessions)}"


def join(
    room: Room, pid: str, role: Role, now: float = T0, session: str | None = None
) -> list[Effect]:
    return room.join(pid, role, session or new_session(pid), now, {"ice_servers": []})


def to(effects: list[Effect], pid: str) -> list[JsonObject]:
    return [e.message for e in effects if isinstance(e, Send) and e.participant_id == pid]


def kinds(effects: list[Effect], pid: str) -> list[str]:
    return [m["type"] for m in to(effects, pid)]


def closes(effects: list[Effect]) -> list[Close]:
    return [e for e in effects if isinstance(e, Close)]


def snapshot(room: Room) -> Any:
    """Everything a refused message must leave alone.

    ``last_client_seq`` is left out: the room records a client ``seq`` before
    it decides whether the message is allowed (see test_refused_seq_is_recorded).
    """
    seats = {
        pid: (
            s.role,
            s.session_id,
            s.state,
            s.hold_message,
            s.arrived,
            s.away_since,
            s.seq,
            copy.deepcopy(list(s.sent)),
        )
        for pid, s in room.seats.items()
    }
    return room.state, list(room.seats), seats


@dataclass
class Call:
    """A specialist, an admitted resident and a guest in the lobby."""

    room: Room = field(default_factory=lambda: Room("r_1"))

    def __post_init__(self) -> None:
        join(self.room, "s_1", Role.SPECIALIST)
        join(self.room, "r_1", Role.RESIDENT, T0 + 1)
        self.room.handle("s_1", Admit("r_1"), T0 + 2)
        join(self.room, "g_1", Role.GUEST, T0 + 3)

    def session(self, pid: str) -> str:
        return self.room.seats[pid].session_id

    def seq(self, pid: str) -> int:
        return self.room.seats[pid].seq


# -- joining ------------------------------------------------------------------


def test_specialist_enters_the_call_at_once() -> None:
    room = Room("r_1")
    effects = join(room, "s_1", Role.SPECIALIST, session="sess-a")
    joined, update = to(effects, "s_1")
    assert joined["type"] == "joined"
    assert joined["state"] == "call" and joined["role"] == "specialist"
    assert joined["session_id"] == "sess-a" and joined["participant_id"] == "s_1"
    assert joined["peers"] == [] and joined["last_client_seq"] == 0
    assert joined["ice_servers"] == []  # the caller's extra fields are included
    assert update == {"type": "lobby-update", "waiting": [], "seq": 2}
    assert {e.participant_id for e in effects} == {"s_1"}


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.GUEST])
def test_residents_and_guests_wait_in_the_lobby(role: Role) -> None:
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST)
    effects = join(room, "p_1", role, T0 + 1)
    joined, *lobby = to(effects, "p_1")
    assert joined["state"] == "lobby" and joined["peers"] == []
    # the joiner's own message and the lobby update may both carry its state
    assert lobby and lobby[0] == {"type": "lobby", "state": "waiting", "position": 1, "seq": 2}
    assert all({**m, "seq": 0} == {**lobby[0], "seq": 0} for m in lobby)
    (update,) = to(effects, "s_1")
    # since: when they arrived, so the specialist sees how long they have waited
    assert update["waiting"] == [
        {"id": "p_1", "role": role.value, "state": "waiting", "since": T0 + 1}
    ]


def test_lobby_without_a_specialist_still_answers() -> None:
    room = Room("r_1")
    effects = join(room, "r_1", Role.RESIDENT)
    assert kinds(effects, "r_1")[:2] == ["joined", "lobby"]
    assert set(kinds(effects, "r_1")[1:]) == {"lobby"}
    assert room.seats["r_1"].in_lobby


def test_lobby_positions_follow_arrival() -> None:
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST)
    join(room, "r_2", Role.RESIDENT, T0 + 1)
    effects = join(room, "r_1", Role.RESIDENT, T0 + 2)
    assert to(effects, "r_1")[-1]["position"] == 2
    waiting = to(effects, "s_1")[-1]["waiting"]
    assert [w["id"] for w in waiting] == ["r_2", "r_1"]
    effects = room.handle("s_1", Admit("r_2"), T0 + 3)
    assert to(effects, "r_1")[-1] == {**to(effects, "r_1")[-1], "type": "lobby", "position": 1}


# -- admit, deny, hold -----------------------------------------------------------


def test_admit_moves_a_participant_into_the_call() -> None:
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST)
    join(room, "r_1", Role.RESIDENT)
    effects = room.handle("s_1", Admit("r_1"), T0)
    (admitted,) = to(effects, "r_1")
    assert admitted["type"] == "admitted"
    assert admitted["peers"] == [{"id": "s_1", "role": "specialist", "polite": True}]
    peer_joined, update = to(effects, "s_1")
    assert peer_joined["peer"] == {"id": "r_1", "role": "resident", "polite": False}
    assert update == {**update, "type": "lobby-update", "waiting": []}
    assert room.seats["r_1"].state is Seat.State.IN_CALL


def test_deny_refuses_and_closes_with_4403() -> None:
    call = Call()
    session = call.session("g_1")
    effects = call.room.handle("s_1", Deny("g_1", "Niet vandaag"), T0)
    assert to(effects, "g_1")[0] == {**to(effects, "g_1")[0], "type": "denied"}
    assert to(effects, "g_1")[0]["message"] == "Niet vandaag"
    assert closes(effects) == [Close("g_1", CloseCode.DENIED, "denied", session)]
    assert "g_1" not in call.room.seats
    assert to(effects, "s_1")[-1]["waiting"] == []
    assert kinds(effects, "r_1") == []  # nobody in the call saw the lobby guest


def test_a_denied_participant_cannot_join_again_at_once() -> None:
    call = Call()
    call.room.handle("s_1", Deny("g_1"), T0)
    before = snapshot(call.room)
    with pytest.raises(Denied):
        join(call.room, "g_1", Role.GUEST, T0 + 60)
    assert snapshot(call.room) == before  # the refused join changed nothing
    # after the cooldown the token works again (back in the lobby, not in the call)
    effects = join(call.room, "g_1", Role.GUEST, T0 + DENIED_FOR + 1)
    assert to(effects, "g_1")[0]["state"] == "lobby"


def test_a_seat_bound_to_a_browser_resumes_in_that_browser_only() -> None:
    room = Room("r_1")
    session = new_session("s_1")
    room.join("s_1", Role.SPECIALIST, session, T0, {}, owner="browser-a")
    room.disconnect("s_1", session, T0 + 1)
    with pytest.raises(UnknownPeer):
        room.resume(session, 0, T0 + 2, owner="browser-b")
    with pytest.raises(UnknownPeer):
        room.resume(session, 0, T0 + 2)  # no browser at all
    assert room.seats["s_1"].away_since == T0 + 1  # the refused resume changed nothing
    assert room.resume(session, 0, T0 + 3, owner="browser-a").reply["type"] == "resumed"


def test_deny_without_message_has_no_message_field() -> None:
    call = Call()
    (denied,) = to(call.room.handle("s_1", Deny("g_1"), T0), "g_1")
    assert "message" not in denied


def test_hold_then_admit() -> None:
    call = Call()
    effects = call.room.handle("s_1", Hold("g_1", "Even geduld"), T0)
    lobby = to(effects, "g_1")[-1]
    assert set(kinds(effects, "g_1")) == {"lobby"}
    assert lobby == {
        "type": "lobby",
        "state": "on-hold",
        "message": "Even geduld",
        "position": 1,
        "seq": lobby["seq"],
    }
    (waiting,) = to(effects, "s_1")[0]["waiting"]
    assert waiting | {"since": 0} == {"id": "g_1", "role": "guest", "state": "on-hold", "since": 0}
    effects = call.room.handle("s_1", Admit("g_1"), T0 + 1)
    assert kinds(effects, "g_1") == ["admitted"]
    assert call.room.seats["g_1"].hold_message is None


def test_fourth_admit_is_room_full_and_changes_nothing() -> None:
    call = Call()
    call.room.handle("s_1", Admit("g_1"), T0)
    join(call.room, "r_2", Role.RESIDENT, T0 + 5)
    before = snapshot(call.room)
    with pytest.raises(RoomFull) as caught:
        call.room.handle("s_1", Admit("r_2"), T0 + 6)
    assert caught.value.code == "room-full"
    assert snapshot(call.room) == before
    assert sum(1 for s in call.room.seats.values() if not s.in_lobby) == 3


def test_a_second_specialist_cannot_join_a_full_call() -> None:
    call = Call()
    call.room.handle("s_1", Admit("g_1"), T0)
    before = snapshot(call.room)
    with pytest.raises(RoomFull):
        join(call.room, "s_2", Role.SPECIALIST)
    assert snapshot(call.room) == before


def test_smaller_max_in_call() -> None:
    room = Room("r_1", max_in_call=2)
    join(room, "s_1", Role.SPECIALIST)
    join(room, "r_1", Role.RESIDENT)
    join(room, "r_2", Role.RESIDENT)
    room.handle("s_1", Admit("r_1"), T0)
    with pytest.raises(RoomFull):
        room.handle("s_1", Admit("r_2"), T0)


@pytest.mark.parametrize("what", [Admit("r_1"), Deny("r_1"), Hold("r_1", "x"), End()])
def test_only_a_specialist_manages_the_lobby_and_ends(what: ClientMessage) -> None:
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST)
    join(room, "r_1", Role.RESIDENT)
    join(room, "g_1", Role.GUEST)
    room.handle("s_1", Admit("g_1"), T0)
    before = snapshot(room)
    with pytest.raises(Forbidden) as caught:
        room.handle("g_1", what, T0)
    assert caught.value.code == "forbidden"
    assert snapshot(room) == before


def test_admit_of_someone_in_the_call_names_the_state() -> None:
    call = Call()
    with pytest.raises(NotAllowed) as caught:
        call.room.handle("s_1", Admit("r_1"), T0)
    assert caught.value.state == "call"
    assert "'call'" in caught.value.message


def test_admit_of_an_unknown_participant() -> None:
    call = Call()
    with pytest.raises(UnknownPeer):
        call.room.handle("s_1", Admit("nobody"), T0)


# -- perfect negotiation roles ---------------------------------------------------


def all_views(room: Room) -> dict[tuple[str, str], bool]:
    """(own, peer) -> own's polite flag, from every in-call seat's peer list."""
    views: dict[tuple[str, str], bool] = {}
    for seat in room.seats.values():
        if seat.in_lobby:
            continue
        for peer in room._peers_of(seat):
            views[(seat.id, peer["id"])] = peer["polite"]
    return views


@pytest.mark.parametrize(
    ("guest", "resident"),
    [("a_guest", "z_resident"), ("z_guest", "a_resident")],
)
def test_exactly_one_polite_side_per_pair(guest: str, resident: str) -> None:
    room = Room("r_1")
    join(room, "m_specialist", Role.SPECIALIST)
    join(room, guest, Role.GUEST)
    join(room, resident, Role.RESIDENT)
    effects = room.handle("m_specialist", Admit(guest), T0)
    effects += room.handle("m_specialist", Admit(resident), T0)
    views = all_views(room)
    assert len(views) == 6
    for (own, peer), polite in views.items():
        assert views[(peer, own)] is (not polite), (own, peer)
    # the specialist is impolite towards everyone
    assert not views[("m_specialist", guest)] and not views[("m_specialist", resident)]
    # between guest and resident the lower id is polite
    assert views[(guest, resident)] is (guest < resident)
    # what was announced matches what the peer lists say
    for pid in (guest, resident, "m_specialist"):
        for message in to(effects, pid):
            if message["type"] == "peer-joined":
                assert message["peer"]["polite"] is views[(pid, message["peer"]["id"])]
            if message["type"] == "admitted":
                for peer in message["peers"]:
                    assert peer["polite"] is views[(pid, peer["id"])]


def test_is_polite_directly() -> None:
    spec = ("s", Role.SPECIALIST)
    assert is_polite(("a", Role.RESIDENT), spec) and not is_polite(spec, ("a", Role.RESIDENT))
    assert is_polite(("z", Role.GUEST), spec)
    assert is_polite(("a", Role.GUEST), ("b", Role.RESIDENT))
    assert not is_polite(("b", Role.GUEST), ("a", Role.RESIDENT))
    # two specialists: still exactly one polite side
    assert is_polite(("a", Role.SPECIALIST), ("b", Role.SPECIALIST)) != is_polite(
        ("b", Role.SPECIALIST), ("a", Role.SPECIALIST)
    )


# -- relaying ---------------------------------------------------------------------


def test_relay_between_in_call_seats_adds_from() -> None:
    call = Call()
    effects = call.room.handle("s_1", Description("r_1", OFFER), T0)
    assert effects == [
        Send(
            "r_1",
            call.session("r_1"),
            {"type": "description", "from": "s_1", "description": OFFER, "seq": call.seq("r_1")},
        )
    ]
    effects = call.room.handle("r_1", Candidate("s_1", None), T0)
    assert to(effects, "s_1") == [
        {"type": "candidate", "from": "r_1", "candidate": None, "seq": call.seq("s_1")}
    ]
    assert len(effects) == 1


def test_media_goes_to_the_others_and_chat_to_everyone_in_the_call() -> None:
    call = Call()
    call.room.handle("s_1", Admit("g_1"), T0)
    effects = call.room.handle("r_1", Media(False, True), T0 + 1)
    assert sorted(e.participant_id for e in effects) == ["g_1", "s_1"]
    assert to(effects, "s_1")[0]["from"] == "r_1" and to(effects, "s_1")[0]["video"] is True
    effects = call.room.handle("r_1", Chat("Hallo"), T0 + 2.5)
    assert sorted(e.participant_id for e in effects) == ["g_1", "r_1", "s_1"]
    chat = to(effects, "g_1")[0]
    assert chat == {**chat, "from": "r_1", "role": "resident", "text": "Hallo", "at": 1_002_500}


def test_chat_does_not_reach_the_lobby() -> None:
    call = Call()
    effects = call.room.handle("s_1", Chat("alleen voor het gesprek"), T0)
    assert kinds(effects, "g_1") == []


@pytest.mark.parametrize(
    "message",
    [
        Description("s_1", OFFER),
        Candidate("s_1", None),
        Media(True, True),
        Chat("hoi"),
    ],
)
def test_lobby_participant_cannot_negotiate_or_talk(message: ClientMessage) -> None:
    call = Call()
    before = snapshot(call.room)
    with pytest.raises(NotAllowed) as caught:
        call.room.handle("g_1", message, T0)
    assert caught.value.state == "lobby"
    assert "'lobby'" in caught.value.message
    assert snapshot(call.room) == before


def test_relay_to_a_lobby_participant_names_their_state() -> None:
    call = Call()
    with pytest.raises(NotAllowed) as caught:
        call.room.handle("s_1", Description("g_1", OFFER), T0)
    assert caught.value.state == "lobby"


@pytest.mark.parametrize("target", ["s_1", "nobody", "r_other_room"])
def test_relay_to_self_or_unknown_is_unknown_peer(target: str) -> None:
    call = Call()
    before = snapshot(call.room)
    with pytest.raises(UnknownPeer) as caught:
        call.room.handle("s_1", Candidate(target, None), T0)
    assert caught.value.code == "unknown-peer"
    assert snapshot(call.room) == before


# -- refused messages change nothing ---------------------------------------------

REFUSED: list[tuple[str, ClientMessage]] = [
    ("g_1", Chat("hoi", seq=1)),
    ("g_1", Media(True, False)),
    ("g_1", Description("s_1", OFFER)),
    ("g_1", Admit("g_1")),
    ("g_1", End()),
    ("r_1", Admit("g_1")),
    ("r_1", Deny("g_1")),
    ("r_1", Hold("g_1", "x")),
    ("r_1", End()),
    ("r_1", Description("g_1", OFFER)),
    ("r_1", Description("r_1", OFFER)),
    ("r_1", Candidate("nobody", None)),
    ("s_1", Admit("r_1")),
    ("s_1", Hold("s_1", "x")),
    ("s_1", Deny("nobody")),
    ("s_1", Join("token")),
    ("s_1", Resume("sess", 0)),
    ("nobody", Ping(1.0)),
]


@pytest.mark.parametrize(("sender", "message"), REFUSED, ids=lambda v: str(v)[:40])
def test_refused_message_changes_nothing(sender: str, message: ClientMessage) -> None:
    call = Call()
    before = snapshot(call.room)
    with pytest.raises(RefusedError):
        call.room.handle(sender, message, T0 + 10)
    assert snapshot(call.room) == before


def test_refused_seq_is_recorded() -> None:
    """A refused message still counts as processed for ``last_client_seq``.

    So a client that resumes does not send a refused message again.
    """
    call = Call()
    with pytest.raises(NotAllowed):
        call.room.handle("g_1", Chat("hoi", seq=7), T0)
    assert call.room.seats["g_1"].last_client_seq == 7


def test_join_and_resume_while_seated_are_not_allowed() -> None:
    call = Call()
    for message in (Join("t"), Resume("s", 0)):
        with pytest.raises(NotAllowed) as caught:
            call.room.handle("r_1", message, T0)
        assert caught.value.state == "call"


# -- duplicate client seq ----------------------------------------------------------


def test_duplicate_client_seq_is_ignored() -> None:
    call = Call()
    assert len(call.room.handle("r_1", Chat("een", seq=5), T0)) == 2
    before = snapshot(call.room)
    assert call.room.handle("r_1", Chat("een", seq=5), T0) == []
    assert call.room.handle("r_1", Chat("nul", seq=4), T0) == []
    assert call.room.handle("r_1", Ping(1.0, seq=3), T0) == []
    assert snapshot(call.room) == before
    assert len(call.room.handle("r_1", Chat("twee", seq=6), T0)) == 2
    # messages without seq are never taken for duplicates
    assert len(call.room.handle("r_1", Ping(1.0), T0)) == 1
    assert len(call.room.handle("r_1", Ping(1.0), T0)) == 1


def test_ping_is_answered_with_the_same_ts() -> None:
    call = Call()
    effects = call.room.handle("g_1", Ping(42.25), T0)
    assert effects == [Send("g_1", call.session("g_1"), {"type": "pong", "ts": 42.25})]
    (pong,) = effects
    assert isinstance(pong, Send) and "seq" not in pong.message  # pong is not numbered


def test_a_ping_with_last_seq_lets_the_replay_buffer_go_of_what_arrived() -> None:
    call = Call()
    session = call.session("r_1")
    for n in range(5):
        call.room.handle("s_1", Chat(f"m{n}"), T0)
    last = call.seq("r_1")
    buffered = [seq for seq, _ in call.room.seats["r_1"].sent]
    call.room.handle("r_1", Ping(1.0, last_seq=last - 2), T0)
    assert [seq for seq, _ in call.room.seats["r_1"].sent] == [last - 1, last]
    assert len(buffered) > 2  # there was more to let go of
    # a resume from what the client has replays the rest; from below it, a resync
    assert [m["seq"] for m in decoded_replay(call.room.resume(session, last - 2, T0))] == [
        last - 1,
        last,
    ]
    assert call.room.resume(session, last - 3, T0).reply.get("resync") is True
    # the other seat's buffer is its own
    assert len(call.room.seats["s_1"].sent) > 0
    # all of it arrived: nothing is kept, and a resume from the end is clean
    call.room.handle("r_1", Ping(2.0, last_seq=last), T0)
    assert call.room.seats["r_1"].sent == []
    resumed = call.room.resume(session, last, T0)
    assert resumed.replay == [] and "resync" not in resumed.reply


# -- leave and end -----------------------------------------------------------------


def test_leave_tells_the_call_and_closes_1000() -> None:
    call = Call()
    session = call.session("r_1")
    effects = call.room.handle("r_1", Leave(), T0)
    assert to(effects, "s_1") == [
        {"type": "peer-left", "id": "r_1", "reason": "left", "seq": call.seq("s_1")}
    ]
    assert closes(effects) == [Close("r_1", CloseCode.NORMAL, "left", session)]
    assert "r_1" not in call.room.seats


def test_leave_from_the_lobby_updates_the_specialist() -> None:
    call = Call()
    effects = call.room.handle("g_1", Leave(), T0)
    assert to(effects, "s_1")[-1]["waiting"] == []
    assert kinds(effects, "r_1") == []


def test_end_by_the_specialist_ends_for_everyone() -> None:
    call = Call()
    sessions = {pid: call.session(pid) for pid in ("s_1", "r_1", "g_1")}
    effects = call.room.handle("s_1", End(), T0)
    for pid in sessions:
        assert to(effects, pid)[0] == {**to(effects, pid)[0], "type": "ended", "by": "specialist"}
    assert {(c.participant_id, c.code, c.session_id) for c in closes(effects)} == {
        (pid, CloseCode.ENDED, session) for pid, session in sessions.items()
    }
    assert call.room.state is Room.State.ENDED and call.room.empty
    with pytest.raises(NotAllowed) as caught:
        join(call.room, "r_1", Role.RESIDENT)
    assert caught.value.state == "room ended"


# -- replacing a seat --------------------------------------------------------------


def test_rejoin_replaces_the_old_socket_and_keeps_admission() -> None:
    call = Call()
    old = call.session("r_1")
    effects = join(call.room, "r_1", Role.RESIDENT, T0 + 10, session="sess-new")
    assert closes(effects) == [
        Close("r_1", CloseCode.REPLACED, "replaced by a newer connection", old)
    ]
    assert kinds(effects, "s_1") == ["peer-left", "peer-joined"]
    left, joined_peer = to(effects, "s_1")
    assert left["id"] == "r_1" and left["reason"] == "replaced"
    assert joined_peer["peer"] == {"id": "r_1", "role": "resident", "polite": False}
    (joined,) = [m for m in to(effects, "r_1") if m["type"] == "joined"]
    assert joined["state"] == "call" and joined["session_id"] == "sess-new"
    assert joined["peers"] == [{"id": "s_1", "role": "specialist", "polite": True}]
    assert joined["seq"] == 1  # the new socket starts a new numbering
    seat = call.room.seats["r_1"]
    assert seat.session_id == "sess-new" and seat.state is Seat.State.IN_CALL
    # the replaced socket's Close names the old session, so the new one stays open
    assert all(
        e.session_id == "sess-new"
        for e in effects
        if e.participant_id == "r_1" and isinstance(e, Send)
    )


def test_rejoin_in_the_lobby_keeps_hold_and_place() -> None:
    call = Call()
    call.room.handle("s_1", Hold("g_1", "Moment"), T0)
    effects = join(call.room, "g_1", Role.GUEST, T0 + 50)
    lobby = next(m for m in to(effects, "g_1") if m["type"] == "lobby")
    assert lobby["state"] == "on-hold" and lobby["message"] == "Moment"
    assert call.room.seats["g_1"].arrived == T0 + 3
    assert kinds(effects, "r_1") == []


def test_join_refused_when_replacing_changes_nothing() -> None:
    """Room.join must not remove the old seat when it then refuses the join.

    A participant waits in the lobby; the call is full; a token for the same
    participant id with the specialist role joins. ``room.join`` removes the
    old seat (and drops its 4409 Close effect) before raising RoomFull, so the
    lobby seat vanishes while its socket stays open.
    """
    call = Call()
    join(call.room, "r_2", Role.RESIDENT)
    call.room.handle("s_1", Admit("r_2"), T0)  # the call is full: s_1, r_1, r_2
    before = snapshot(call.room)
    with pytest.raises(RoomFull):
        join(call.room, "g_1", Role.SPECIALIST)
    assert snapshot(call.room) == before


# -- drops, resume and expiry ------------------------------------------------------


def test_disconnect_tells_the_call_peer_away_once() -> None:
    call = Call()
    effects = call.room.disconnect("r_1", call.session("r_1"), T0)
    assert to(effects, "s_1") == [{"type": "peer-away", "id": "r_1", "seq": call.seq("s_1")}]
    assert len(effects) == 1
    assert call.room.disconnect("r_1", call.session("r_1"), T0 + 1) == []
    assert call.room.seats["r_1"].away_since == T0


def test_disconnect_of_a_stale_session_or_lobby_seat_tells_nobody() -> None:
    call = Call()
    assert call.room.disconnect("r_1", "not-the-session", T0) == []
    assert call.room.seats["r_1"].away_since is None
    assert call.room.disconnect("nobody", "x", T0) == []
    assert call.room.disconnect("g_1", call.session("g_1"), T0) == []
    assert call.room.seats["g_1"].away_since == T0


def test_resume_replays_exactly_the_missed_range() -> None:
    call = Call()
    session = call.session("r_1")
    seen = call.seq("r_1")
    call.room.disconnect("r_1", session, T0)
    for n in range(3):
        call.room.handle("s_1", Chat(f"bericht {n}"), T0 + n)
    assert call.seq("r_1") == seen + 3
    resumed = call.room.resume(session, seen, T0 + 5)
    assert [m["seq"] for m in decoded_replay(resumed)] == [seen + 1, seen + 2, seen + 3]
    assert [m["text"] for m in decoded_replay(resumed)] == ["bericht 0", "bericht 1", "bericht 2"]
    assert resumed.reply["type"] == "resumed"
    assert resumed.reply["replayed"] == 3 and "resync" not in resumed.reply
    assert resumed.reply["state"] == "call" and resumed.reply["participant_id"] == "r_1"
    assert resumed.reply["peers"] == [{"id": "s_1", "role": "specialist", "polite": True}]
    assert [
        (e.participant_id, e.message["type"]) for e in resumed.effects if isinstance(e, Send)
    ] == [("s_1", "peer-back")]
    assert call.room.seats["r_1"].away_since is None


def test_resume_from_the_middle_and_from_the_end() -> None:
    call = Call()
    session = call.session("r_1")
    seen = call.seq("r_1")
    for n in range(4):
        call.room.handle("s_1", Chat(f"m{n}"), T0)
    middle = call.room.resume(session, seen + 2, T0)
    assert [m["seq"] for m in decoded_replay(middle)] == [seen + 3, seen + 4]
    end = call.room.resume(session, seen + 4, T0)
    assert end.replay == [] and end.reply["replayed"] == 0 and "resync" not in end.reply
    # not away: nobody is told the participant came back
    assert end.effects == []


def test_resume_reports_the_last_client_seq() -> None:
    call = Call()
    call.room.handle("r_1", Chat("een", seq=41), T0)
    resumed = call.room.resume(call.session("r_1"), 0, T0)
    assert resumed.reply["last_client_seq"] == 41


def test_resume_with_a_gap_beyond_the_buffer_asks_for_resync() -> None:
    call = Call()
    session = call.session("r_1")
    seen = call.seq("r_1")
    call.room.disconnect("r_1", session, T0)
    for n in range(REPLAY_LIMIT + 10):
        call.room.handle("s_1", Chat(f"m{n}"), T0)
    assert call.seq("r_1") == seen + REPLAY_LIMIT + 10
    resumed = call.room.resume(session, seen, T0)
    assert resumed.reply["resync"] is True
    assert resumed.replay == [] and resumed.reply["replayed"] == 0
    # peers still learn the participant is back
    assert [e.message["type"] for e in resumed.effects if isinstance(e, Send)] == ["peer-back"]


def test_resume_at_the_edge_of_the_buffer_replays_all_of_it() -> None:
    call = Call()
    session = call.session("r_1")
    for n in range(REPLAY_LIMIT + 10):
        call.room.handle("s_1", Chat(f"m{n}"), T0)
    oldest_kept = call.seq("r_1") - REPLAY_LIMIT + 1
    resumed = call.room.resume(session, oldest_kept - 1, T0)
    assert "resync" not in resumed.reply
    assert [m["seq"] for m in decoded_replay(resumed)] == list(
        range(oldest_kept, call.seq("r_1") + 1)
    )
    one_more = call.room.resume(session, oldest_kept - 2, T0)
    assert one_more.reply.get("resync") is True


def test_resume_of_an_unknown_session() -> None:
    call = Call()
    with pytest.raises(UnknownPeer):
        call.room.resume("no-such-session", 0, T0)


def test_resume_in_the_lobby() -> None:
    call = Call()
    session = call.session("g_1")
    call.room.disconnect("g_1", session, T0)
    resumed = call.room.resume(session, 0, T0 + 1)
    assert resumed.reply["state"] == "lobby" and resumed.reply["peers"] == []
    assert decoded_replay(resumed)[0]["type"] == "joined"
    assert [m["seq"] for m in decoded_replay(resumed)] == list(range(1, call.seq("g_1") + 1))
    assert resumed.effects == []  # the call never saw the lobby seat go away


def test_expire_after_grace_is_peer_left_timeout() -> None:
    call = Call()
    call.room.disconnect("r_1", call.session("r_1"), T0)
    assert call.room.expire(T0 + 30, grace=30) == []  # not past the grace yet
    assert "r_1" in call.room.seats
    effects = call.room.expire(T0 + 30.01, grace=30)
    assert to(effects, "s_1") == [
        {"type": "peer-left", "id": "r_1", "reason": "timeout", "seq": call.seq("s_1")}
    ]
    assert "r_1" not in call.room.seats
    assert closes(effects) == []  # the socket is already gone


def test_expire_leaves_connected_seats_alone() -> None:
    call = Call()
    assert call.room.expire(T0 + 10_000, grace=1) == []
    assert set(call.room.seats) == {"s_1", "r_1", "g_1"}


def test_expire_of_a_lobby_seat_updates_the_specialist() -> None:
    call = Call()
    call.room.disconnect("g_1", call.session("g_1"), T0)
    effects = call.room.expire(T0 + 31, grace=30)
    assert to(effects, "s_1")[-1]["waiting"] == []
    assert kinds(effects, "r_1") == []


# -- registry ------------------------------------------------------------------------


def test_registry_forgets_ended_and_empty_rooms() -> None:
    registry = Registry(max_in_call=3)
    room = registry.room_for_join("r_1")
    assert registry.room_for_join("r_1") is room
    join(room, "s_1", Role.SPECIALIST, session="sess-s")
    room.handle("s_1", End(), T0)
    registry.settle(room, T0)
    assert "r_1" not in registry.rooms
    with pytest.raises(NotAllowed):
        registry.room_for_join("r_1")


def test_registry_expire_releases_away_seats() -> None:
    registry = Registry(max_in_call=3)
    room = registry.room_for_join("r_1")
    join(room, "s_1", Role.SPECIALIST, session="sess-s")
    room.disconnect("s_1", "sess-s", T0)
    assert registry.expire(T0 + 5, grace=30) == []
    changed = registry.expire(T0 + 31, grace=30)
    assert [r.id for r, _ in changed] == ["r_1"]
    assert "r_1" not in registry.rooms


def test_a_session_id_names_its_room_and_nothing_else_does() -> None:
    session = new_session_id("r_1")
    assert room_of_session(session) == "r_1"
    assert new_session_id("r_1") != session
    for made_up in ("", "r_1", "r_1.", ".secret", "r 1.secret", "../x.secret"):
        assert room_of_session(made_up) is None


def test_a_restored_room_is_held_unless_it_ended_or_emptied() -> None:
    registry = Registry(max_in_call=3)
    room = Room("r_1")
    join(room, "s_1", Role.SPECIALIST, session="sess-s")
    registry.restore(room, T0)
    assert registry.rooms["r_1"] is room
    ended = Room("r_2")
    ended.state = Room.State.ENDED
    registry.restore(ended, T0)
    registry.restore(Room("r_3"), T0)
    assert set(registry.rooms) == {"r_1"}
    with pytest.raises(NotAllowed):
        registry.room_for_join("r_2")


# -- properties ----------------------------------------------------------------------

PIDS = ["s_1", "s_2", "r_1", "r_2", "g_1"]
ROLES = {
    "s_1": Role.SPECIALIST,
    "s_2": Role.SPECIALIST,
    "r_1": Role.RESIDENT,
    "r_2": Role.RESIDENT,
    "g_1": Role.GUEST,
}
pid_st = st.sampled_from(PIDS)
target_st = st.sampled_from([*PIDS, "nobody"])
seq_st = st.none() | st.integers(min_value=1, max_value=30)
message_st: st.SearchStrategy[ClientMessage] = st.one_of(
    st.builds(Deny, target_st, st.none() | st.just("nee"), seq_st),
    st.builds(Hold, target_st, st.just("wacht"), seq_st),
    st.builds(Description, target_st, st.just(OFFER), seq_st),
    st.builds(Candidate, target_st, st.none(), seq_st),
    st.builds(Media, st.booleans(), st.booleans(), seq_st),
    st.builds(Chat, st.just("hoi"), seq_st),
    st.builds(Leave, seq_st),
    st.builds(End, seq_st),
    st.builds(Ping, st.just(1.0), seq_st),
    st.builds(Join, st.just("t"), st.none(), seq_st),
)
admit_st = st.builds(Admit, target_st, st.none())
op_st = st.one_of(
    st.tuples(st.just("join"), pid_st),
    st.tuples(st.just("join"), pid_st),
    # specialists admit often, so that full calls are common
    st.tuples(st.just("msg"), st.sampled_from(["s_1", "s_2"]), admit_st),
    st.tuples(st.just("msg"), st.sampled_from(["s_1", "s_2"]), admit_st),
    st.tuples(st.just("msg"), pid_st, message_st),
    st.tuples(st.just("msg"), pid_st, message_st),
    st.tuples(st.just("disconnect"), pid_st),
    st.tuples(st.just("resume"), pid_st, st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("tick"), st.floats(min_value=0.1, max_value=20)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(op_st, max_size=60))
def test_any_sequence_keeps_the_invariants(ops: list[tuple[Any, ...]]) -> None:
    room = Room("r_1")
    now = T0
    grace = 10.0
    last_seq: dict[str, int] = {}  # per socket session: the last numbered frame sent

    def check_sends(effects: list[Effect], before: dict[str, str]) -> None:
        after = {pid: s.session_id for pid, s in room.seats.items()}
        for effect in effects:
            known = before.get(effect.participant_id) == effect.session_id or (
                after.get(effect.participant_id) == effect.session_id
            )
            assert known, f"{effect} targets no seat that existed before or after"
            if isinstance(effect, Send) and "seq" in effect.message:
                seq = effect.message["seq"]
                assert seq == last_seq.get(effect.session_id, 0) + 1, effect
                last_seq[effect.session_id] = seq

    # everyone arrives first, so that admits, relays and full calls are common
    arrivals: list[tuple[Any, ...]] = [("join", pid) for pid in PIDS if pid != "s_2"]
    for op in arrivals + ops:
        before_sessions = {pid: s.session_id for pid, s in room.seats.items()}
        before = snapshot(room)
        effects: list[Effect] = []
        try:
            if op[0] == "join":
                effects = join(room, op[1], ROLES[op[1]], now)
            elif op[0] == "msg":
                effects = room.handle(op[1], op[2], now)
            elif op[0] == "disconnect":
                seat = room.seats.get(op[1])
                if seat is not None:
                    effects = room.disconnect(op[1], seat.session_id, now)
            elif op[0] == "resume":
                seat = room.seats.get(op[1])
                if seat is not None:
                    last = min(op[2], seat.seq)
                    resumed = room.resume(seat.session_id, last, now)
                    replayed = [m["seq"] for m in decoded_replay(resumed)]
                    # resync only when the oldest missed frame left the buffer
                    oldest_kept = max(1, seat.seq - REPLAY_LIMIT + 1)
                    assert bool(resumed.reply.get("resync")) == (last + 1 < oldest_kept)
                    if resumed.reply.get("resync"):
                        assert replayed == []
                    else:
                        assert replayed == list(range(last + 1, seat.seq + 1))
                    assert resumed.reply["replayed"] == len(replayed)
                    effects = resumed.effects
            else:
                now += op[1]
                effects = room.expire(now, grace)
        except RefusedError:
            assert snapshot(room) == before, f"refused {op} changed the room"
            continue
        check_sends(effects, before_sessions)
        in_call = [s for s in room.seats.values() if not s.in_lobby]
        assert len(in_call) <= room.max_in_call
        if room.state is Room.State.ENDED:
            assert room.empty
        for seat in room.seats.values():
            assert seat.seq == last_seq.get(seat.session_id, 0)
            assert seat.state is Seat.State.IN_CALL or seat.role is not Role.SPECIALIST


def test_a_client_ahead_of_the_room_resyncs_and_later_frames_number_on_from_it() -> None:
    """A room read back from Redis can be behind its client (its home died before writing
    the last frames down): the client resyncs, and what follows is numbered after what it
    has, not dropped by it as repeats."""
    call = Call()
    session = call.session("r_1")
    ahead = call.seq("r_1") + 5
    resumed = call.room.resume(session, ahead, T0)
    assert resumed.reply["resync"] is True and resumed.replay == []
    effects = call.room.handle("s_1", Chat("na de overstap"), T0)
    assert [m["seq"] for m in to(effects, "r_1")] == [ahead + 1]
