"""The walk-in queue's pure part: every transition from every state (the error names the
state), the order rule with its tie-breaks, positions and the expected wait."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.walkin import queue
from server.walkin.errors import WalkinError
from server.walkin.queue import (
    Channel,
    GraceExpired,
    InvalidState,
    InvalidTicket,
    MissingSkill,
    TakenByOther,
    Ticket,
    TicketState,
    expected_wait,
    in_order,
    new_ticket,
    next_ticket,
    order_key,
    position,
)
from tests.test_layering import ROOT, imported_modules

S = TicketState
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
GRACE = timedelta(minutes=2)
STAFF = "s1"


def ticket(
    state: TicketState = S.WAITING,
    *,
    purpose: str = "wmo",
    arrived: timedelta = timedelta(0),
    booked: bool = False,
    id: str = "00000000-0000-4000-8000-000000000000",
    tenant: str = "t1",
) -> Ticket:
    """A ticket in ``state`` as the machine would have left it there."""
    made = replace(new_ticket(tenant, purpose, "video", T0 + arrived, booked=booked), id=id)
    if state in (S.TAKEN, S.DONE):
        made = replace(made, taken_by=STAFF, taken_at=T0 + arrived)
    if state is S.AWAY:
        made = replace(made, away_since=T0 + arrived)
    return replace(made, state=state)


# --- new tickets ---------------------------------------------------------------------------


def test_a_new_ticket_waits_with_a_random_id_and_no_personal_data() -> None:
    one = new_ticket("t1", "wmo", "chat", T0, verification_id="verification-secret")
    other = new_ticket("t1", "wmo", Channel.CHAT, T0)
    assert one.state is S.WAITING and one.version == 1
    assert one.channel is Channel.CHAT and one.arrived_at == T0 == one.updated_at
    assert one.id != other.id and len(one.id) == 36
    # the verification id is a bearer secret: only its digest is kept, and shown nowhere
    assert one.verification == queue.verification_digest("verification-secret")
    assert "verification-secret" not in repr(one)
    assert other.verification is None
    assert {f for f in Ticket.__dataclass_fields__} == {
        "id",
        "tenant_id",
        "purpose",
        "channel",
        "arrived_at",
        "state",
        "booked",
        "verification",
        "taken_by",
        "taken_at",
        "away_since",
        "version",
        "updated_at",
        "room_id",  # a random room id, no personal data
        "note_sealed",  # a staff note, sealed by the service (server/walkin/service.py)
    }  # a new field must be looked at: is it personal data?


@pytest.mark.parametrize(
    ("tenant", "purpose", "channel", "now", "says"),
    [
        ("t1", "wmo", "fax", T0, "channel 'fax'"),
        ("t1", "", "video", T0, "purpose"),
        ("", "wmo", "video", T0, "tenant"),
        ("t1", "wmo", "video", T0.replace(tzinfo=None), "no time zone"),
    ],
)
def test_a_ticket_with_a_bad_value_is_refused_naming_it(
    tenant: str, purpose: str, channel: str, now: datetime, says: str
) -> None:
    with pytest.raises(ValueError, match=says) as refused:  # bad input is a ValueError too
        new_ticket(tenant, purpose, channel, now)
    assert isinstance(refused.value, InvalidTicket)
    assert isinstance(refused.value, WalkinError)


# --- transitions ---------------------------------------------------------------------------

#: a moment within the grace period of a ticket away since T0, and one after it
SOON = T0 + MINUTE
LATE = T0 + 2 * GRACE


@dataclass(frozen=True)
class Operation:
    """A transition applied as a page or the desk would, at ``now``, and the states it may
    start from."""

    apply: Callable[[Ticket, datetime], Ticket]
    now: datetime
    sources: frozenset[TicketState]
    target: TicketState


OPERATIONS: dict[str, Operation] = {
    "take": Operation(
        lambda t, now: queue.take(t, STAFF, {"wmo"}, now), SOON, frozenset({S.WAITING}), S.TAKEN
    ),
    "finish": Operation(
        lambda t, now: queue.finish(t, STAFF, now), SOON, frozenset({S.TAKEN}), S.DONE
    ),
    "hand back": Operation(
        lambda t, now: queue.requeue(t, STAFF, now), SOON, frozenset({S.TAKEN}), S.WAITING
    ),
    "hand over": Operation(
        lambda t, now: replace(queue.hand_over(t, STAFF, "tax", now), purpose="wmo"),
        SOON,
        frozenset({S.TAKEN}),
        S.WAITING,
    ),
    "leave": Operation(queue.leave, SOON, frozenset({S.WAITING, S.AWAY}), S.LEFT),
    "go away": Operation(queue.away, SOON, frozenset({S.WAITING}), S.AWAY),
    "come back": Operation(
        lambda t, now: queue.back(t, now, GRACE), SOON, frozenset({S.AWAY}), S.WAITING
    ),
    "let go": Operation(
        lambda t, now: queue.expire(t, now, GRACE), LATE, frozenset({S.AWAY}), S.LEFT
    ),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
@pytest.mark.parametrize("state", list(TicketState))
def test_every_transition_from_every_state(name: str, state: TicketState) -> None:
    operation = OPERATIONS[name]
    before = ticket(state)
    if state in operation.sources:
        after = operation.apply(before, operation.now)
        assert after.state is operation.target
        assert (after.version, after.updated_at) == (before.version + 1, operation.now)
        # nobody's place in the order moves, whatever happens to the ticket
        assert (after.arrived_at, after.booked, after.id) == (T0, False, before.id)
        return
    with pytest.raises(InvalidState) as refused:
        operation.apply(before, operation.now)
    # the error names what was tried and the state the ticket is in
    assert str(refused.value) == f"cannot {name}: the ticket is {state.value}"
    assert refused.value.state is state
    assert before.state is state  # frozen: the refused ticket is unchanged


def test_done_and_left_are_final() -> None:
    for state in queue.FINAL:
        for operation in OPERATIONS.values():
            with pytest.raises(InvalidState, match=f"the ticket is {state.value}"):
                operation.apply(ticket(state), operation.now)


def test_taking_records_who_and_when() -> None:
    taken = queue.take(ticket(), "s7", {"wmo", "tax"}, T0 + MINUTE)
    assert (taken.taken_by, taken.taken_at) == ("s7", T0 + MINUTE)


def test_a_specialist_without_the_skill_cannot_take() -> None:
    with pytest.raises(MissingSkill, match="staff 's1' lacks the skill for 'wmo'") as refused:
        queue.take(ticket(), STAFF, {"tax"}, T0)
    assert refused.value.purpose == "wmo"
    with pytest.raises(MissingSkill):
        queue.take(ticket(), STAFF, set(), T0)


@pytest.mark.parametrize(
    "apply",
    [
        lambda t: queue.finish(t, "s2", T0 + MINUTE),
        lambda t: queue.requeue(t, "s2", T0 + MINUTE),
        lambda t: queue.hand_over(t, "s2", "tax", T0 + MINUTE),
    ],
    ids=["finish", "hand back", "hand over"],
)
def test_only_the_specialist_who_took_it_finishes_or_hands_back(
    apply: Callable[[Ticket], Ticket],
) -> None:
    with pytest.raises(TakenByOther, match="taken by another specialist, not 's2'") as refused:
        apply(ticket(S.TAKEN))
    assert refused.value.state is S.TAKEN


def test_handed_back_it_waits_in_its_old_place() -> None:
    first = ticket(S.TAKEN, id="a")
    later = ticket(arrived=MINUTE, id="b")
    back = queue.requeue(first, STAFF, T0 + 5 * MINUTE)
    assert (back.state, back.taken_by, back.taken_at) == (S.WAITING, None, None)
    assert back.arrived_at == T0
    assert next_ticket([later, back], {"wmo"}) == back


def test_handed_over_it_waits_for_the_other_purpose_in_its_old_place_with_the_note() -> None:
    first = ticket(S.TAKEN, id="a")
    tax_later = ticket(arrived=MINUTE, id="b", purpose="tax")
    over = queue.hand_over(first, STAFF, "tax", T0 + 5 * MINUTE, note_sealed="sealed-note")
    assert (over.state, over.purpose, over.taken_by, over.arrived_at) == (
        S.WAITING,
        "tax",
        None,
        T0,
    )
    assert next_ticket([tax_later, over], {"tax"}) == over
    assert next_ticket([over], {"wmo"}) is None
    assert over.note_sealed == "sealed-note" and "sealed-note" not in repr(over)
    # the note goes with the ticket's end, and a hand-back without one drops the old one
    taken = queue.take(over, "s9", {"tax"}, T0 + 6 * MINUTE)
    assert taken.note_sealed == "sealed-note"
    assert queue.finish(taken, "s9", T0 + 7 * MINUTE).note_sealed is None
    assert queue.requeue(taken, "s9", T0 + 7 * MINUTE).note_sealed is None
    with pytest.raises(InvalidTicket, match="needs the purpose"):
        queue.hand_over(first, STAFF, "", T0)


def test_away_and_back_within_the_grace_period_keeps_the_place() -> None:
    first = ticket(id="a")
    later = ticket(arrived=SECOND, id="b")
    gone = queue.away(first, T0 + MINUTE)
    assert (gone.state, gone.away_since) == (S.AWAY, T0 + MINUTE)
    assert next_ticket([gone, later], {"wmo"}) == later  # an away resident cannot be taken
    returned = queue.back(gone, T0 + MINUTE + GRACE - SECOND, GRACE)
    assert (returned.state, returned.away_since, returned.arrived_at) == (S.WAITING, None, T0)
    assert next_ticket([returned, later], {"wmo"}) == returned


def test_the_grace_period_ends_exactly_at_its_length() -> None:
    gone = queue.away(ticket(), T0)
    assert not queue.grace_over(gone, T0 + GRACE - SECOND, GRACE)
    assert queue.grace_over(gone, T0 + GRACE, GRACE)
    says = r"cannot come back: the ticket was away for its whole grace period \(120 s\)"
    with pytest.raises(GraceExpired, match=says) as late:
        queue.back(gone, T0 + GRACE, GRACE)
    assert late.value.state is S.AWAY
    with pytest.raises(InvalidState, match="away within its grace period"):
        queue.expire(gone, T0 + GRACE - SECOND, GRACE)
    left = queue.expire(gone, T0 + GRACE, GRACE)
    assert (left.state, left.away_since) == (S.LEFT, None)


def test_a_resident_away_may_still_leave() -> None:
    assert queue.leave(queue.away(ticket(), T0), T0 + SECOND).state is S.LEFT


def test_naive_times_and_negative_grace_are_refused() -> None:
    with pytest.raises(InvalidTicket, match="no time zone"):
        queue.away(ticket(), T0.replace(tzinfo=None))
    with pytest.raises(InvalidTicket, match="negative"):
        queue.grace_over(ticket(S.AWAY), T0, -SECOND)


# --- the order rule ------------------------------------------------------------------------


def test_booked_first_then_arrival_then_id() -> None:
    walk_in_early = ticket(arrived=timedelta(0), id="c")
    booked_late = ticket(arrived=10 * MINUTE, booked=True, id="d")
    booked_early = ticket(arrived=5 * MINUTE, booked=True, id="e")
    same_moment_b = ticket(arrived=MINUTE, id="b")
    same_moment_a = ticket(arrived=MINUTE, id="a")
    everyone = [same_moment_b, walk_in_early, booked_late, same_moment_a, booked_early]
    assert [t.id for t in in_order(everyone)] == ["e", "d", "c", "a", "b"]


def test_next_is_the_first_waiting_ticket_of_the_purposes_one_can_serve() -> None:
    wmo_late = ticket(purpose="wmo", arrived=2 * MINUTE, id="w")
    tax_early = ticket(purpose="tax", arrived=MINUTE, id="t")
    away_earliest = ticket(S.AWAY, purpose="wmo", id="x")
    taken_earliest = ticket(S.TAKEN, purpose="tax", id="y")
    queue_now = [wmo_late, tax_early, away_earliest, taken_earliest]
    assert next_ticket(queue_now, {"wmo", "tax"}) == tax_early
    assert next_ticket(queue_now, {"wmo"}) == wmo_late
    assert next_ticket(queue_now, {"paspoort"}) is None
    assert next_ticket([], {"wmo"}) is None


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 5), st.sampled_from("abcdef")),
        unique_by=lambda x: x[2],
        max_size=6,
    ),
    st.randoms(),
)
def test_the_order_does_not_depend_on_the_order_tickets_are_read_in(
    drawn: list[tuple[bool, int, str]], shuffler: object
) -> None:
    tickets = [
        ticket(booked=booked, arrived=seconds * SECOND, id=id_) for booked, seconds, id_ in drawn
    ]
    shuffled = list(tickets)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    ordered = in_order(tickets)
    assert in_order(shuffled) == ordered
    # booked ones form a prefix; within each part arrival times never go backwards
    flags = [t.booked for t in ordered]
    assert flags == sorted(flags, reverse=True)
    for a, b in itertools.pairwise(ordered):
        assert order_key(a) < order_key(b)
        if a.booked == b.booked:
            assert a.arrived_at <= b.arrived_at


# --- positions and the wait ----------------------------------------------------------------


def test_a_position_counts_the_waiting_of_the_same_purpose_and_tenant_ahead() -> None:
    mine = ticket(arrived=10 * MINUTE, id="m")
    others = [
        ticket(arrived=MINUTE, id="a"),  # ahead
        ticket(arrived=20 * MINUTE, booked=True, id="b"),  # booked: ahead though later
        ticket(arrived=10 * MINUTE, id="0"),  # same moment, smaller id: ahead
        ticket(arrived=10 * MINUTE, id="z"),  # same moment, larger id: behind
        ticket(arrived=20 * MINUTE, id="c"),  # behind
        ticket(S.AWAY, arrived=MINUTE, id="d"),  # away: does not hold anyone up
        ticket(S.TAKEN, arrived=MINUTE, id="e"),  # being served
        ticket(purpose="tax", arrived=MINUTE, id="f"),  # another queue
        ticket(tenant="t2", arrived=MINUTE, id="g"),  # another municipality
    ]
    assert position(mine, [mine, *others]) == 4
    assert position(mine, []) == 1
    # away: the place it has when it comes back now
    assert position(replace(mine, state=S.AWAY), others) == 4


@pytest.mark.parametrize("state", [S.TAKEN, S.DONE, S.LEFT])
def test_a_ticket_out_of_the_queue_has_no_position(state: TicketState) -> None:
    with pytest.raises(InvalidState, match=f"the ticket is {state.value}") as refused:
        position(ticket(state), [])
    assert refused.value.state is state


@pytest.mark.parametrize(
    ("ahead", "serving", "handling", "expected"),
    [
        (3, 2, 10 * MINUTE, 15 * MINUTE),
        (0, 2, 10 * MINUTE, timedelta(0)),
        (4, 1, 12 * MINUTE, 48 * MINUTE),
        (1, 3, 9 * MINUTE, 3 * MINUTE),
        (5, 0, 10 * MINUTE, None),  # nobody serves the purpose now: no estimate
    ],
)
def test_expected_wait(
    ahead: int, serving: int, handling: timedelta, expected: timedelta | None
) -> None:
    assert expected_wait(ahead, serving, handling) == expected


@pytest.mark.parametrize(
    ("ahead", "serving", "handling"),
    [(-1, 1, MINUTE), (1, -1, MINUTE), (1, 1, timedelta(0)), (1, 1, -MINUTE)],
)
def test_expected_wait_refuses_impossible_inputs(
    ahead: int, serving: int, handling: timedelta
) -> None:
    with pytest.raises(InvalidTicket):
        expected_wait(ahead, serving, handling)


def test_the_queue_module_is_free_of_io() -> None:
    imported = imported_modules(ROOT / "server" / "walkin" / "queue.py")
    ours = {name for name in imported if name.split(".")[0] in ("server", "sqlalchemy", "aiohttp")}
    assert ours == {"server.walkin.errors"}, imported
