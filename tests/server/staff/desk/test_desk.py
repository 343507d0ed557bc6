"""The specialist desk against a real Balie server on loopback: staff signed in through the
real sign-in flow (password + pyotp code), residents through the identity gate (IRMA
emulator + test wallet) and the signalling socket.

Time: the staff and desk clocks are one injected clock set to the moment the test starts (room
tokens are checked against real time, so it cannot be far off); nothing waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from identity.wallet import TestWallet
from server.booking.appkeys import BOOKING
from server.booking.appointment import Appointment, AppointmentState
from server.booking.join_links import resident_join_url
from server.core.appkeys import KEYS
from server.core.clock import AMSTERDAM
from server.db.appkeys import ENGINE
from server.db.schema import appointment_outcomes, audit_events
from server.staff.desk.pages import call_opens
from server.staff.desk.state import LiveState, Presence, live_state, state_label
from signaling.roles import Role
from signaling.tokens import verify_room_token
from tests.server.staff.desk.support import (
    add_appointment,
    desk_csrf,
    desk_states,
    outcome,
    post_form,
    today_start,
    was_recorded,
)
from tests.server.staff.support import (
    CSRF,
    Staffed,
    sign_in,
    staff_client,
)
from tests.support import SignalClient

DEMO_VALUES = {
    "irma-demo.gemeente.personalData.bsn": "999999990",
    "irma-demo.gemeente.personalData.fullname": "Test Persoon",
}


# --- appointments ----------------------------------------------------------------------------


async def _stored(server: Staffed, appointment: Appointment) -> Appointment:
    return await server.app[BOOKING].get("demo", appointment.id)


async def _open_call(
    server: Staffed, session: aiohttp.ClientSession, appointment: Appointment
) -> aiohttp.ClientResponse:
    return await post_form(server, session, f"/staff/desk/appointments/{appointment.id}/call", {})


async def _audit(server: Staffed, appointment: Appointment) -> list[tuple[str, str]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(audit_events.c.action, audit_events.c.actor)
            .where(audit_events.c.subject == f"appointment:{appointment.id}")
            .order_by(audit_events.c.id)
        )
        return [(row.action, row.actor) for row in rows]


async def _signal(server: Staffed, session: aiohttp.ClientSession) -> SignalClient:
    ws_url = server.url.replace("http", "ws", 1) + "/ws"
    return SignalClient(await session.ws_connect(ws_url, origin=server.origin, heartbeat=None))


async def _landing_csrf(server: Staffed, session: aiohttp.ClientSession) -> str:
    async with session.get(f"{server.url}/staff") as response:
        found = CSRF.search(await response.text())
    assert found is not None
    return found.group(1)


# --- the list --------------------------------------------------------------------------------


async def test_the_desk_lists_todays_and_upcoming_appointments_of_this_specialist(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    start = today_start(server)
    today = await add_appointment(server, start)
    tomorrow = await add_appointment(server, start + timedelta(days=1))
    cancelled = await add_appointment(server, start, state=AppointmentState.CANCELLED)
    lapsed = await add_appointment(
        server, start + timedelta(hours=1), state=AppointmentState.EXPIRED
    )
    colleague = await add_appointment(server, start, staff_id="demo-bram")
    far = await add_appointment(server, start + timedelta(days=9))

    async with anna.get(f"{server.url}/staff/desk") as response:
        assert response.status == 200
        page = await response.text()
    assert "Mijn gesprekken" in page and "Vandaag, " in page and "Morgen, " in page
    assert "Bijstand (Participatiewet)" in page
    for shown in (today, tomorrow, cancelled):
        assert shown.reference in page
    for hidden in (lapsed, colleague, far):
        assert hidden.reference not in page
    assert "Geannuleerd" in page
    # today's open appointment can be opened; tomorrow's not yet, the cancelled one never
    assert f"/staff/desk/appointments/{today.id}/call" in page
    assert f"/staff/desk/appointments/{tomorrow.id}/call" not in page
    assert f"/staff/desk/appointments/{cancelled.id}/call" not in page
    assert f"/staff/desk/appointments/{today.id}/outcome" in page

    states = await desk_states(server, anna)
    assert set(states) == {today.id, tomorrow.id, cancelled.id}
    assert states[today.id]["state"] == "booked" and states[today.id]["label"] == "Gepland"
    assert states[cancelled.id]["state"] == "cancelled"
    assert states[tomorrow.id]["can_open"] is False


async def test_an_empty_desk_and_an_account_without_a_staff_member(server: Staffed) -> None:
    async with staff_client(server) as session:
        await sign_in(session, server, "specialist")
        async with session.get(f"{server.url}/staff/desk") as response:
            assert "geen gesprekken" in await response.text()
    async with staff_client(server) as session:
        await sign_in(session, server, "other")  # a specialist account of no staff member
        async with session.get(f"{server.url}/staff/desk") as response:
            assert response.status == 200
            assert "niet gekoppeld" in await response.text()


async def test_the_landing_page_links_specialists_to_the_desk(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    async with anna.get(f"{server.url}/staff") as response:
        assert 'href="/staff/desk"' in await response.text()
    async with staff_client(server) as planner:
        await sign_in(planner, server, "planner")
        async with planner.get(f"{server.url}/staff") as response:
            assert 'href="/staff/desk"' not in await response.text()


# --- live states and the call ----------------------------------------------------------------


async def test_states_follow_the_resident_and_the_call_to_an_outcome(
    server: Staffed, anna: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    appointment = await add_appointment(server, today_start(server))
    room = appointment.room_id
    assert room is not None
    url = resident_join_url(server.config, server.app[KEYS], appointment, now=server.clock.now)
    assert url is not None
    resident_token = url.split("#token=", 1)[1]
    assert (await desk_states(server, anna))[appointment.id]["state"] == "booked"

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as resident:
        # the resident opens the link and proves who they are
        async with resident.get(f"{server.url}/call/{room}") as response:
            assert response.status == 200
        api = f"{server.url}/api/rooms/{room}/verification"
        bearer = {"Authorization": f"Bearer {resident_token}"}
        async with resident.post(api + "/session", headers=bearer, json={}) as response:
            assert response.status == 200
            started = await response.json()
        await TestWallet(resident).disclose(started["sessionPtr"], DEMO_VALUES)
        async with resident.post(api + "/result", headers=bearer, json={}) as response:
            assert response.status == 200
        state = (await desk_states(server, anna))[appointment.id]
        assert state["state"] == "verified"

        # ... and waits in the lobby
        resident_ws = await _signal(server, resident)
        joined = await resident_ws.join(resident_token)
        assert joined["state"] == "lobby"
        # arriving in the lobby is the check-in: the planner's waiting time starts here
        for _ in range(100):
            if (await _stored(server, appointment)).state is AppointmentState.CHECKED_IN:
                break
            await asyncio.sleep(0.02)
        assert (await _stored(server, appointment)).state is AppointmentState.CHECKED_IN
        assert await _audit(server, appointment) == [("appointment.check_in", "resident")]
        state = (await desk_states(server, anna))[appointment.id]
        assert state["state"] == "waiting"
        assert state["label"] == "Wacht in de wachtkamer, identiteit gecontroleerd"
        assert state["start"] == appointment.start.astimezone(AMSTERDAM).strftime("%H:%M")

        # the specialist opens the call: a specialist token for this room, in the fragment
        response = await _open_call(server, anna, appointment)
        assert response.status == 303
        location = response.headers["Location"]
        assert location.startswith(f"/call/{room}#token=") and "?" not in location
        token = location.split("#token=", 1)[1]
        claims = verify_room_token(server.app[KEYS], token, issuer=server.config.tokens.issuer)
        assert claims.role is Role.SPECIALIST and claims.room == room
        assert (claims.purpose, claims.tenant) == ("bijstand", "demo")
        assert claims.expires_at == int((appointment.end + timedelta(hours=3)).timestamp())
        # the access log has the request, and nothing logged the token
        assert f"POST /staff/desk/appointments/{appointment.id}/call 303" in caplog.text
        assert token not in caplog.text
        # the resident was here: checked in, and the call started
        assert (await _stored(server, appointment)).state is AppointmentState.IN_CALL
        assert await _audit(server, appointment) == [
            ("appointment.check_in", "resident"),
            ("appointment.start_call", "staff:demo-specialist"),
        ]

        async with aiohttp.ClientSession() as staff_http:
            specialist_ws = await _signal(server, staff_http)
            await specialist_ws.join(token)
            await specialist_ws.send(type="admit", participant_id=resident_ws.participant_id)
            await resident_ws.expect("admitted")
            assert (await desk_states(server, anna))[appointment.id]["state"] == "in_call"

            # the specialist ends the call for everyone: the desk asks for the outcome
            await specialist_ws.send(type="end")
            await resident_ws.expect_close()
            await specialist_ws.expect_close()
        await resident_ws.close()
    state = (await desk_states(server, anna))[appointment.id]
    assert state["state"] == "ended" and state["can_close"] is True

    assert was_recorded(await outcome(server, anna, appointment, "follow_up"))
    state = (await desk_states(server, anna))[appointment.id]
    assert state["state"] == "completed" and state["label"] == "Afgerond, vervolg nodig"
    assert state["can_open"] is False and state["can_close"] is False
    async with server.app[ENGINE].connect() as conn:
        recorded = (await conn.execute(select(appointment_outcomes))).one()
    assert (recorded.outcome, recorded.follow_up) == ("completed", True)
    assert recorded.recorded_by == "staff:demo-specialist"
    assert (await _audit(server, appointment))[-2:] == [
        ("appointment.complete", "staff:demo-specialist"),
        ("appointment.follow_up", "staff:demo-specialist"),
    ]


async def test_opening_the_call_before_the_resident_comes_keeps_it_booked(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    appointment = await add_appointment(server, today_start(server))
    first = await _open_call(server, anna, appointment)
    again = await _open_call(server, anna, appointment)
    assert first.status == again.status == 303
    keys, issuer = server.app[KEYS], server.config.tokens.issuer
    seats = {
        verify_room_token(keys, r.headers["Location"].split("#token=")[1], issuer=issuer)
        for r in (first, again)
    }
    # the same seat both times, so a second tab takes over instead of adding a participant
    assert len({claims.participant_id for claims in seats}) == 1
    assert (await _stored(server, appointment)).state is AppointmentState.BOOKED
    assert await _audit(server, appointment) == []


async def test_a_closed_or_future_appointment_cannot_be_opened(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    start = today_start(server)
    done = await add_appointment(server, start, state=AppointmentState.COMPLETED)
    later = await add_appointment(server, start + timedelta(days=2))
    assert (await _open_call(server, anna, done)).status == 409
    assert (await _open_call(server, anna, later)).status == 409


# --- outcomes ----------------------------------------------------------------------------------


async def test_outcome_completed_and_no_show(server: Staffed, anna: aiohttp.ClientSession) -> None:
    start = today_start(server)
    came = await add_appointment(server, start)
    stayed_away = await add_appointment(server, start + timedelta(minutes=40))
    # the second appointment's time comes; a page view in between keeps the session alive
    server.clock.advance(minutes=13)
    await desk_states(server, anna)
    await desk_csrf(server, anna)
    server.clock.advance(minutes=13)

    assert was_recorded(await outcome(server, anna, came, "completed"))
    assert (await _stored(server, came)).state is AppointmentState.COMPLETED
    assert [action for action, _ in await _audit(server, came)] == [
        "appointment.check_in",
        "appointment.start_call",
        "appointment.complete",
    ]
    assert was_recorded(await outcome(server, anna, stayed_away, "no_show"))
    assert (await _stored(server, stayed_away)).state is AppointmentState.NO_SHOW
    assert await _audit(server, stayed_away) == [("appointment.no_show", "staff:demo-specialist")]
    states = await desk_states(server, anna)
    assert states[came.id]["label"] == "Afgerond"
    assert states[stayed_away.id]["label"] == "Niet gekomen"
    async with server.app[ENGINE].connect() as conn:
        rows = {
            row.appointment_id: (row.outcome, row.follow_up)
            for row in await conn.execute(select(appointment_outcomes))
        }
    assert rows == {came.id: ("completed", False), stayed_away.id: ("no_show", False)}


async def test_outcomes_that_do_not_fit_are_refused(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    start = today_start(server)
    running = await add_appointment(server, start, state=AppointmentState.IN_CALL)
    future = await add_appointment(server, start + timedelta(days=1))
    assert (await outcome(server, anna, running, "no_show")).status == 409
    assert (await outcome(server, anna, future, "no_show")).status == 409
    assert (await outcome(server, anna, running, "gezellig")).status == 400
    assert (await _stored(server, running)).state is AppointmentState.IN_CALL
    assert (await _stored(server, future)).state is AppointmentState.BOOKED


async def test_outcome_without_csrf_is_refused(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    appointment = await add_appointment(server, today_start(server))
    response = await outcome(server, anna, appointment, "no_show", csrf=False)
    assert response.status == 403
    response = await post_form(
        server, anna, f"/staff/desk/appointments/{appointment.id}/call", {}, csrf=False
    )
    assert response.status == 403 and "Location" not in response.headers
    assert (await _stored(server, appointment)).state is AppointmentState.BOOKED


async def test_only_the_own_specialist_or_a_planner_of_the_tenant_may_act(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    start = today_start(server)
    colleagues = await add_appointment(server, start, staff_id="demo-bram")
    mine = await add_appointment(server, start)

    # another staff member's appointment
    assert (await outcome(server, anna, colleagues, "no_show")).status == 403
    assert (await _open_call(server, anna, colleagues)).status == 403
    # an appointment that does not exist, and a path that names none
    for missing in (str(uuid.uuid4()), "not-an-appointment"):
        path = f"/staff/desk/appointments/{missing}/outcome"
        assert (await post_form(server, anna, path, {"outcome": "no_show"})).status == 404

    # another tenant: not found there
    async with staff_client(server) as other:
        await sign_in(other, server, "other")
        assert (await outcome(server, other, mine, "no_show")).status == 404
        assert (await _open_call(server, other, mine)).status == 404

    # a non-specialist (the functional admin): no desk, no actions
    async with staff_client(server) as admin:
        await sign_in(admin, server, "beheerder")
        async with admin.get(f"{server.url}/staff/desk") as response:
            assert response.status == 403
        async with admin.get(
            f"{server.url}/staff/desk/state", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 403
        async with admin.post(
            f"{server.url}/staff/desk/appointments/{mine.id}/outcome",
            data={"outcome": "no_show", "csrf_token": await _landing_csrf(server, admin)},
            allow_redirects=False,
        ) as response:
            assert response.status == 403

    for appointment in (colleagues, mine):
        assert (await _stored(server, appointment)).state is AppointmentState.BOOKED

    # a planner of the same tenant may (the planner console links here)
    async with staff_client(server) as planner:
        await sign_in(planner, server, "planner")
        async with planner.post(
            f"{server.url}/staff/desk/appointments/{colleagues.id}/outcome",
            data={"outcome": "no_show", "csrf_token": await _landing_csrf(server, planner)},
            allow_redirects=False,
        ) as response:
            assert was_recorded(response)
    assert (await _stored(server, colleagues)).state is AppointmentState.NO_SHOW


async def test_signed_out_the_desk_sends_to_sign_in(server: Staffed) -> None:
    async with staff_client(server) as session:
        async with session.get(f"{server.url}/staff/desk", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/staff/sign-in")
        async with session.get(
            f"{server.url}/staff/desk/state", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 401


# --- the live state, as a function ---------------------------------------------------------


def _stub(state: AppointmentState) -> Appointment:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Appointment(
        id="a",
        tenant_id="demo",
        reference="R",
        purpose_key="bijstand",
        staff_id="demo-anna",
        state=state,
        start=at,
        end=at + timedelta(minutes=30),
        buffered_start=at,
        buffered_end=at + timedelta(minutes=30),
        hold_expires_at=None,
        room_id="r_x",
        version=1,
        rescheduled_from=None,
        created_at=at,
        updated_at=at,
    )


S = AppointmentState


@pytest.mark.parametrize(
    ("stored", "presence", "expected"),
    [
        (S.BOOKED, Presence(), LiveState.BOOKED),
        (S.BOOKED, Presence(verified=True), LiveState.VERIFIED),
        (S.BOOKED, Presence(room_live=True, resident_waiting=True), LiveState.WAITING),
        (S.CHECKED_IN, Presence(room_live=True, resident_in_call=True), LiveState.IN_CALL),
        (S.IN_CALL, Presence(room_live=True), LiveState.IN_CALL),
        (S.IN_CALL, Presence(), LiveState.ENDED),
        (S.IN_CALL, Presence(verified=True), LiveState.ENDED),
        (S.COMPLETED, Presence(room_live=True, resident_in_call=True), LiveState.COMPLETED),
        (S.NO_SHOW, Presence(), LiveState.NO_SHOW),
        (S.CANCELLED, Presence(verified=True), LiveState.CANCELLED),
    ],
)
def test_live_state(stored: AppointmentState, presence: Presence, expected: LiveState) -> None:
    assert live_state(_stub(stored), presence) is expected


def test_state_labels() -> None:
    assert state_label(LiveState.WAITING) == "Wacht in de wachtkamer"
    assert state_label(LiveState.WAITING, verified=True).endswith("identiteit gecontroleerd")
    assert state_label(LiveState.COMPLETED, follow_up=True) == "Afgerond, vervolg nodig"
    assert state_label(LiveState.BOOKED, follow_up=True) == "Gepland"


def _amsterdam(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    ("start", "now", "opens"),
    [
        (_amsterdam(1, 10, 0), _amsterdam(1, 8, 0), True),  # the same day, early
        (_amsterdam(1, 10, 0), _amsterdam(1, 13, 29), True),  # until 3 hours after the end
        (_amsterdam(1, 10, 0), _amsterdam(1, 13, 31), False),
        (_amsterdam(2, 10, 0), _amsterdam(1, 16, 0), False),  # tomorrow
        (_amsterdam(2, 0, 5), _amsterdam(1, 23, 50), True),  # just after midnight, 15 min before
        (_amsterdam(2, 0, 5), _amsterdam(1, 23, 45), False),
    ],
)
def test_a_call_opens_on_its_day_and_fifteen_minutes_before_its_start(
    start: datetime, now: datetime, opens: bool
) -> None:
    assert call_opens(start, start + timedelta(minutes=30), now) is opens
