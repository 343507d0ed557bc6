"""Absences that meet bookings: a real Balie on loopback, the demo planner signed in with
password and TOTP, e-mail to a real SMTP server. A closed day over booked appointments is not
saved until each appointment is handed to a free colleague or its resident is told to pick a
new time; bad choices change nothing. The service runs on a clock the test holds still, so
reminders never fall due by accident."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from server.booking.appointment import AppointmentState, Contact
from server.core.clock import AMSTERDAM
from server.db.appkeys import ENGINE
from server.db.schema import appointments, availability_exceptions, availability_rules
from server.messages.appkeys import OUTBOX
from server.staff.planner.absence_rules import (
    EXCEPTION,
    Change,
    affected,
    fits_hours,
    left_without,
    parse_change,
)
from server.staff.planner.forms import ExceptionInput
from server.staff.planner.store import DayException
from tests.english import assert_english, choose_english
from tests.server.messages.smtp import Delivered, SmtpServer, smtp_settings
from tests.server.staff.planner.support import (
    ANNA,
    TENANT,
    booking_service,
    get,
    local,
    next_weekday,
    post,
)
from tests.server.staff.support import Staffed, csrf_of, signed_in, staffed_server
from tests.support import MovableClock, config_for

BRAM = "demo-bram"
CHANTAL = "demo-chantal"
ACTIVE = ("held", "booked", "checked_in", "in_call")


class Forms(HTMLParser):
    """Every form of a page: its action, and the values it would send (hidden inputs and
    each select's first option), as a browser would submit it unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"_action": found.get("action", "")})
        elif self.forms and tag == "input" and found.get("type") == "hidden":
            self.forms[-1][found["name"]] = found.get("value", "")
        elif self.forms and tag == "select":
            self._select = found["name"]
        elif self.forms and tag == "option" and self._select is not None:
            self.forms[-1].setdefault(self._select, found.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_of(page: str, action: str, appointment: str | None = None) -> dict[str, str]:
    parser = Forms()
    parser.feed(page)
    for form in parser.forms:
        if form.get("action") == action and form.get("appointment") == appointment:
            return {k: v for k, v in form.items() if k != "_action"}
    raise AssertionError(f"no {action} form for {appointment}")


async def book_with(
    server: Staffed, staff_id: str, start: datetime, email: str | None = None
) -> tuple[str, str]:
    """A confirmed Wmo booking with ``staff_id``: (id, reference)."""
    service = booking_service(server)
    held = await service.hold(TENANT, "wmo", start, staff_id=staff_id, contact=Contact(email=email))
    booked = await service.confirm(TENANT, held.id, held.version, room_id=f"room-{held.id[:8]}")
    return booked.id, booked.reference


async def mark_absent(
    server: Staffed, planner: aiohttp.ClientSession, day: date
) -> tuple[str, str]:
    """Post "not available all day" for Anna; the Location it answers and the list page."""
    token = await csrf_of(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    form = {
        "csrf_token": token,
        "kind": "closed",
        "first_day": day.isoformat(),
        "reason": "afwezig",
    }
    status, location, _ = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/exceptions", form
    )
    assert status == 303
    assert location.startswith(f"/staff/planner/staff/{ANNA}/afwezigheid?change={EXCEPTION}")
    status, page = await get(planner, server.url + location)
    assert status == 200
    return location, page


async def exceptions_of(server: Staffed, staff_id: str) -> list[Any]:
    async with server.app[ENGINE].connect() as conn:
        query = select(availability_exceptions).where(
            availability_exceptions.c.staff_id == staff_id
        )
        return list(await conn.execute(query))


async def snapshot(server: Staffed) -> list[tuple[str, str, str, int]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(
                appointments.c.id,
                appointments.c.staff_id,
                appointments.c.state,
                appointments.c.version,
            ).order_by(appointments.c.id)
        )
        return [tuple(row) for row in rows]


async def left_with_anna(server: Staffed, day: date) -> int:
    """Active appointments of Anna inside the absence (the whole local day)."""
    low, high = local(day, 0), local(day + timedelta(days=1), 0)
    async with server.app[ENGINE].connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(appointments)
                    .where(
                        appointments.c.staff_id == ANNA,
                        appointments.c.state.in_(ACTIVE),
                        appointments.c.starts_at < high,
                        appointments.c.ends_at > low,
                    )
                )
            ).scalar_one()
        )


def subjects(received: list[Delivered]) -> list[tuple[str, str]]:
    return sorted((d.recipients[0], str(d.message["Subject"])) for d in received)


async def test_an_absence_over_three_bookings_is_saved_after_each_is_handled(
    tmp_path: Path,
) -> None:
    monday = next_weekday(0)
    clock = MovableClock()
    with SmtpServer() as smtp:
        config = config_for(
            tmp_path,
            messages=smtp_settings(smtp.port),
        )
        async with staffed_server(tmp_path, clock=clock, config=config) as server:
            nine = await book_with(server, ANNA, local(monday, 9), "een@example.org")
            ten = await book_with(server, ANNA, local(monday, 10), "twee@example.org")
            two = await book_with(server, ANNA, local(monday, 14), "drie@example.org")
            await book_with(server, BRAM, local(monday, 10))  # Bram is not free at ten
            assert await server.app[OUTBOX].run_due() == 3
            confirmations = subjects(smtp.received)
            assert [to for to, _ in confirmations] == [
                "drie@example.org",
                "een@example.org",
                "twee@example.org",
            ]

            async with signed_in(server, "planner") as planner:
                _, page = await mark_absent(server, planner, monday)
                # listed, nothing saved yet
                assert "De wijziging is nog niet opgeslagen." in page
                for (_, reference), hours in zip(
                    (nine, ten, two), ("09:00–09:45", "10:00–10:45", "14:00–14:45"), strict=True
                ):
                    assert reference in page and hours in page
                assert "Wmo: hulp en ondersteuning thuis" in page
                assert "@example.org" not in page  # no resident's details
                assert await exceptions_of(server, ANNA) == []
                action = f"/staff/planner/staff/{ANNA}/afwezigheid"
                assert form_of(page, "reassign", nine[0])["colleague"] == BRAM
                ten_row = page.split(ten[1])[1].split("</tr>")[0]
                assert "Geen collega vrij op deze tijd." in ten_row

                # nine o'clock to Bram; a double submit of the same form changes nothing more
                handover = form_of(page, "reassign", nine[0])
                for _ in range(2):
                    status, where, _ = await post(planner, server.url + action, handover)
                    assert status == 303 and "klaar=overgedragen" in where
                before = await snapshot(server)
                status, page = await get(planner, server.url + where)
                assert "De afspraak is overgedragen aan een collega." in page
                assert nine[1] not in page and ten[1] in page

                # ten o'clock: the resident is told to pick a new time
                notify = form_of(page, "notify", ten[0])
                status, where, _ = await post(planner, server.url + action, notify)
                assert status == 303 and "klaar=bericht" in where
                _, page = await get(planner, server.url + where)
                assert "De inwoner krijgt een bericht" in page and ten[1] not in page
                assert await exceptions_of(server, ANNA) == []

                # the rest to the first free colleague; the absence is saved with it
                everyone = form_of(page, "all")
                status, where, _ = await post(planner, server.url + action, everyone)
                assert (status, where) == (303, f"/staff/planner/staff/{ANNA}?klaar=uitzondering")
                status, _, _ = await post(planner, server.url + action, everyone)  # resent
                assert status == 303
            # one row more: the 14:00 handover; the resent form and the cancel add none
            assert len(await snapshot(server)) == len(before) + 1

            (saved,) = await exceptions_of(server, ANNA)
            assert (saved.day, saved.kind, saved.start_time, saved.reason) == (
                monday,
                "closed",
                None,
                "Afwezig",
            )
            assert await left_with_anna(server, monday) == 0
            service = booking_service(server)
            day_list = await service.appointments_between(
                TENANT, local(monday, 0), local(monday + timedelta(days=1), 0), staff_id=BRAM
            )
            moved = {a.start.astimezone(AMSTERDAM).hour: a for a in day_list if a.active}
            assert sorted(moved) == [9, 10, 14]
            for (old_id, _), hour in ((nine, 9), (two, 14)):
                old = await service.get(TENANT, old_id)
                assert old.state is AppointmentState.CANCELLED
                assert moved[hour].rescheduled_from == old_id
                assert moved[hour].room_id == old.room_id  # the resident's link stays valid
            assert (await service.get(TENANT, ten[0])).state is AppointmentState.CANCELLED

            # one new e-mail: the absence notice, with a link to pick a new Wmo time
            assert await server.app[OUTBOX].run_due() == 1
            (notice,) = smtp.received[3:]
            assert notice.recipients == ["twee@example.org"]
            assert str(notice.message["Subject"]).startswith("Kies een nieuwe tijd voor uw")
            body = notice.message.get_body(("plain",))
            assert body is not None
            text = str(body.get_content())
            assert "de medewerker is er dan niet" in text
            assert f"/afspraak/{TENANT}/kies/wmo" in text
            assert subjects(smtp.received[:3]) == confirmations


async def test_wrong_choices_are_refused_and_change_nothing(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    monday = next_weekday(0)
    ten = await book_with(server, ANNA, local(monday, 10))
    two = await book_with(server, ANNA, local(monday, 14))
    await book_with(server, BRAM, local(monday, 10))
    _, page = await mark_absent(server, planner, monday)
    action = server.url + f"/staff/planner/staff/{ANNA}/afwezigheid"
    before = await snapshot(server)
    handover = form_of(page, "reassign", two[0])
    ten_form = handover | {"appointment": ten[0], "version": "2"}
    cases = [
        (handover | {"colleague": "demo-nobody"}, 400, "Kies een collega uit de lijst."),
        (handover | {"colleague": "../x"}, 400, "Kies een collega uit de lijst."),
        (handover | {"colleague": ANNA}, 409, "dan de medewerker die afwezig is"),
        (
            handover | {"colleague": CHANTAL},
            409,
            "Chantal (demo) heeft niet de kennis voor dit onderwerp.",
        ),
        (ten_form | {"colleague": BRAM}, 409, "Bram (demo) is op dat moment niet vrij."),
        (handover | {"version": "7"}, 409, "Deze afspraak is intussen gewijzigd."),
        (handover | {"appointment": "0" * 36}, 400, "Het formulier was niet compleet."),
        (
            handover | {"first_day": (monday - timedelta(days=30)).isoformat()},
            400,
            "De eerste dag ligt in het verleden.",
        ),
        (handover | {"idempotency_key": "kort"}, 400, "Het formulier was niet compleet."),
    ]
    for data, expected_status, message in cases:
        status, _, answer = await post(planner, action, data)
        assert (status, message) == (expected_status, message) and message in answer, (
            data,
            status,
        )
        assert await snapshot(server) == before
        assert await exceptions_of(server, ANNA) == []
    # an unknown appointment id of the right shape, and another tenant's member: not found
    status, _, answer = await post(
        planner, action, handover | {"appointment": "00000000-0000-4000-8000-000000000000"}
    )
    assert status == 404 and "Deze afspraak staat niet in de lijst." in answer
    status, _, _ = await post(
        planner, server.url + "/staff/planner/staff/andere-x/afwezigheid", handover
    )
    assert status == 404
    # without the CSRF token or from another origin: refused
    status, _, _ = await post(
        planner, action, {k: v for k, v in handover.items() if k != "csrf_token"}
    )
    assert status == 403
    assert await snapshot(server) == before and await exceptions_of(server, ANNA) == []


async def test_shorter_weekly_hours_wait_for_the_bookings_they_meet(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    monday = next_weekday(0)
    ten = await book_with(server, ANNA, local(monday, 10))
    token = await csrf_of(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    # Monday afternoons only from now on: the ten o'clock booking is in the way
    form = {"csrf_token": token, "h-0-0-start": "13:30", "h-0-0-end": "17:00"}
    status, location, _ = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/hours", form
    )
    assert status == 303 and "change=uren" in location
    async with server.app[ENGINE].connect() as conn:
        kept = list(
            await conn.execute(
                select(availability_rules.c.weekday).where(availability_rules.c.staff_id == ANNA)
            )
        )
    assert len(kept) == 8  # Monday to Thursday, two blocks: not replaced yet
    _, page = await get(planner, server.url + location)
    assert "Nieuwe vaste werktijden per week" in page and ten[1] in page
    notify = form_of(page, "notify", ten[0])
    status, where, _ = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/afwezigheid", notify
    )
    assert (status, where) == (303, f"/staff/planner/staff/{ANNA}?klaar=uren")
    async with server.app[ENGINE].connect() as conn:
        rules = list(
            await conn.execute(
                select(availability_rules).where(availability_rules.c.staff_id == ANNA)
            )
        )
    assert [(r.weekday, f"{r.start_time:%H:%M}") for r in rules] == [(0, "13:30")]
    assert (await booking_service(server).get(TENANT, ten[0])).state is AppointmentState.CANCELLED


def test_which_appointments_a_change_meets() -> None:
    monday = date(2026, 3, 2)
    part = ExceptionInput(
        (monday,), "closed", (local(monday, 12).time(), local(monday, 15).time()), "Afwezig"
    )
    change = Change({}, exception=part)
    away = left_without(change, (), AMSTERDAM)
    assert away(local(monday, 11, 30), local(monday, 12, 15))
    assert not away(local(monday, 11), local(monday, 12))  # ends as the absence begins
    assert not away(local(monday, 15), local(monday, 15, 30))
    extra = DayException(
        1,
        ANNA,
        monday,
        "extra",
        local(monday, 18).time(),
        local(monday, 20).time(),
        "Extra spreekuur",
    )
    hours_change, checked = parse_change(
        {"change": "uren", "h-0-0-start": "09:00", "h-0-0-end": "12:00"}, monday, str
    )
    assert hours_change is not None and not checked.errors
    assert fits_hours(local(monday, 9), local(monday, 12), hours_change.hours, (), AMSTERDAM)
    assert not fits_hours(
        local(monday, 11, 45), local(monday, 12, 15), hours_change.hours, (), AMSTERDAM
    )
    assert fits_hours(local(monday, 18), local(monday, 19), hours_change.hours, (extra,), AMSTERDAM)
    assert not fits_hours(
        local(monday + timedelta(days=1), 9),
        local(monday + timedelta(days=1), 10),
        hours_change.hours,
        (extra,),
        AMSTERDAM,
    )
    assert affected([], ANNA, local(monday, 0), away) == []


async def test_the_list_in_english(server: Staffed, planner: aiohttp.ClientSession) -> None:
    monday = next_weekday(0)
    ten = await book_with(server, ANNA, local(monday, 10))
    await book_with(server, BRAM, local(monday, 10))
    choose_english(planner, server.url)
    location, page = await mark_absent(server, planner, monday)
    names = ["Anna (demo)", "Wmo: hulp en ondersteuning thuis", ten[1]]
    assert_english(page, leave_out=names, more_dutch=("afspraak", "collega", "opslaan"))
    assert "Not available: Mon " in page and "all day (Absent)" in page
    assert "No colleague is free at this time." in page
    assert 'name="colleague"' not in page  # nobody free: no choice to offer
    notify = form_of(page, "notify", ten[0])
    status, _, answer = await post(
        planner,
        server.url + location.split("?")[0],
        notify | {"action": "reassign", "colleague": CHANTAL},
    )
    assert status == 409
    assert "Chantal (demo) does not have the knowledge for this topic." in answer
