"""The planner console against a real Balie server on loopback (SQLite), signed in as the demo
planner with password and TOTP. Availability is checked through the booking service itself,
so a change to hours must show up where residents book. Slot dates are picked relative to
today (the service runs on the real clock); the dashboard reads seeded rows on fixed dates.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from server.booking.appointment import AppointmentState
from server.core.clock import AMSTERDAM
from server.db.appkeys import ENGINE
from server.db.schema import (
    audit_events,
    availability_exceptions,
    availability_rules,
)
from server.staff.planner.charts import WIDTH, Series, bar_chart
from server.staff.planner.dashboard import compute_numbers, numbers_csv
from server.staff.planner.forms import BLOCKS, WEEKDAYS, hours_field
from server.staff.planner.store import Outcome
from tests.server.staff.planner.support import (
    ANNA,
    EXPECTED_CSV,
    HIDDEN_LABEL,
    HOURS_TABLE,
    KEY,
    MONDAY,
    TENANT,
    book,
    booking_service,
    get,
    local,
    next_weekday,
    post,
    seed_numbers,
)
from tests.server.staff.support import CSRF, Staffed, csrf_of, sign_in, staff_client

BLOCK_HEADERS = [f"Blok {n + 1}" for n in range(BLOCKS)]
PLANNER_ACTOR = "staff:demo-planner"
START = re.compile(r'name="start" value="([^"]+)"')


async def _local_starts(server: Staffed, purpose: str, day: date) -> list[str]:
    slots = await booking_service(server).available_times(TENANT, purpose, day)
    return [f"{slot.start.astimezone(AMSTERDAM):%H:%M}" for slot in slots]


async def _rules(server: Staffed, staff_id: str) -> list[tuple[int, clock, clock]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(availability_rules).where(
                availability_rules.c.tenant_id == TENANT,
                availability_rules.c.staff_id == staff_id,
            )
        )
        return sorted((r.weekday, r.start_time, r.end_time) for r in rows)


async def _audit(server: Staffed, action: str) -> list[Any]:
    async with server.app[ENGINE].connect() as conn:
        return list(await conn.execute(select(audit_events).where(audit_events.c.action == action)))


# --- the week ------------------------------------------------------------------------------


async def test_week_view_shows_hours_and_appointments(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    tuesday = next_weekday(1)
    booked = await booking_service(server).get(
        TENANT, await book(server, "bijstand", local(tuesday, 10))
    )
    status, page = await get(planner, f"{server.url}/staff/planner?week={tuesday}")
    assert status == 200
    assert '<th scope="col">Medewerker</th>' in page
    assert f'<time datetime="{tuesday.isoformat()}">' in page
    anna_row = page.split("Anna (demo)</a>")[1].split("</tr>")[0]
    assert anna_row.count("09:00–12:30, 13:30–17:00") == 4  # Monday to Thursday
    assert anna_row.count("Niet beschikbaar") == 3
    assert "10:00–10:30 Bijstand (Participatiewet)" in anna_row
    assert booked.reference in anna_row and "geboekt" in anna_row
    assert f"/staff/planner/appointments/{booked.id}" in anna_row
    monday = tuesday - timedelta(days=1)
    assert f"?week={monday - timedelta(days=7)}" in page
    assert f"?week={monday + timedelta(days=7)}" in page
    # next week has hours but not this booking; a skill filter leaves Anna out
    _, later = await get(planner, f"{server.url}/staff/planner?week={tuesday + timedelta(7)}")
    assert booked.reference not in later and "09:00–12:30" in later
    _, taxes = await get(planner, f"{server.url}/staff/planner?week={tuesday}&skill=belastingen")
    assert "Chantal (demo)" in taxes and "Anna (demo)" not in taxes


# --- hours and exceptions ------------------------------------------------------------------


async def test_new_weekly_hours_change_the_offered_times_at_once(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    tuesday = next_weekday(1)
    assert "09:00" in await _local_starts(server, "bijstand", tuesday)
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    form = {"csrf_token": token, "h-1-0-start": "13:00", "h-1-0-end": "14:00"}
    status, location, _ = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/hours", form
    )
    assert (status, location) == (303, f"/staff/planner/staff/{ANNA}?klaar=uren")
    assert await _rules(server, ANNA) == [(1, clock(13), clock(14))]
    assert await _local_starts(server, "bijstand", tuesday) == ["13:00", "13:15", "13:30"]
    assert await _local_starts(server, "bijstand", tuesday - timedelta(days=1)) == []
    events = await _audit(server, "availability.rules_replace")
    assert [(e.actor, e.subject, e.attributes) for e in events] == [
        (PLANNER_ACTOR, f"staff:{ANNA}", [])
    ]
    _, page = await get(planner, f"{server.url}/staff/planner/staff/{ANNA}?klaar=uren")
    assert "De werktijden zijn opgeslagen." in page
    assert 'id="h-1-0-start" name="h-1-0-start"' in page and 'value="13:00"' in page


async def test_exceptions_close_a_day_and_add_hours(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    tuesday, friday = next_weekday(1), next_weekday(4)
    base = f"{server.url}/staff/planner/staff/{ANNA}"
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    closed = {"csrf_token": token, "kind": "closed", "first_day": tuesday.isoformat()}
    status, _, _ = await post(planner, base + "/exceptions", closed | {"reason": "afwezig"})
    assert status == 303
    assert await _local_starts(server, "bijstand", tuesday) == []
    _, week = await get(planner, f"{server.url}/staff/planner?week={tuesday}")
    assert "Niet beschikbaar hele dag (Afwezig)" in week

    assert await _local_starts(server, "bijstand", friday) == []  # Anna does not work Fridays
    extra = {
        "csrf_token": token,
        "kind": "extra",
        "first_day": friday.isoformat(),
        "start": "10:00",
        "end": "11:00",
        "reason": "extra",
    }
    assert (await post(planner, base + "/exceptions", extra))[0] == 303
    assert await _local_starts(server, "bijstand", friday) == ["10:00", "10:15", "10:30"]

    async with server.app[ENGINE].connect() as conn:
        rows = list(await conn.execute(select(availability_exceptions)))
    assert sorted((r.day, r.kind, r.reason) for r in rows) == sorted(
        [(tuesday, "closed", "Afwezig"), (friday, "extra", "Extra spreekuur")]
    )
    closed_id = next(r.id for r in rows if r.kind == "closed")
    status, location, _ = await post(
        planner, f"{base}/exceptions/{closed_id}/delete", {"csrf_token": token}
    )
    assert (status, location) == (303, f"/staff/planner/staff/{ANNA}?klaar=verwijderd")
    assert "09:00" in await _local_starts(server, "bijstand", tuesday)
    actions = [e.action for e in await _audit(server, "availability.exception_add")]
    assert actions == ["availability.exception_add"] * 2
    assert len(await _audit(server, "availability.exception_remove")) == 1


async def test_a_holiday_spans_several_days(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    monday = next_weekday(0)
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    form = {
        "csrf_token": token,
        "kind": "closed",
        "first_day": monday.isoformat(),
        "last_day": (monday + timedelta(days=3)).isoformat(),
        "reason": "vrij",
    }
    url = f"{server.url}/staff/planner/staff/{ANNA}/exceptions"
    assert (await post(planner, url, form))[0] == 303
    for offset in range(4):
        assert await _local_starts(server, "bijstand", monday + timedelta(days=offset)) == []
    assert "09:00" in await _local_starts(server, "bijstand", monday + timedelta(days=7))


async def test_the_hours_form_is_a_table_of_weekdays_and_blocks(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    _, page = await get(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    found = HOURS_TABLE.search(page)
    assert found is not None
    table = found.group(0)
    assert "<caption>" in table
    assert re.findall(r'<th scope="row">(\w+)</th>', table) == list(WEEKDAYS)
    assert re.findall(r'<th scope="col">(Dag|Blok \d)', table) == ["Dag", *BLOCK_HEADERS]
    # one input a time, in reading order: day by day, each block van then tot
    inputs = re.findall(r'<input id="([^"]+)" name="\1"', table)
    assert inputs == [
        hours_field(day, block, end)
        for day in range(7)
        for block in range(BLOCKS)
        for end in ("start", "end")
    ]
    labels = dict(HIDDEN_LABEL.findall(table))
    assert set(labels) == set(inputs)
    assert len(set(labels.values())) == len(inputs)  # every name is unique
    for day, day_name in enumerate(WEEKDAYS):
        for block in range(BLOCKS):
            for end, word in (("start", "van"), ("end", "tot")):
                assert labels[hours_field(day, block, end)] == (
                    f"{day_name}, blok {block + 1}, {word}"
                )
    assert 'value="09:00"' in table and 'value="12:30"' in table  # Anna's Monday


async def test_an_hours_error_is_linked_to_its_cell(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    form = {"csrf_token": token, "h-3-1-start": "13:00", "h-3-1-end": "13.30"}
    status, _, page = await post(planner, f"{server.url}/staff/planner/staff/{ANNA}/hours", form)
    assert status == 400
    assert '<a href="#h-3-1-end">Donderdag, blok 2: schrijf de tijd als uu:mm' in page
    found = HOURS_TABLE.search(page)
    assert found is not None
    table = found.group(0)
    assert '<p class="error-message" id="h-3-1-end-error">' in table
    assert (
        '<input id="h-3-1-end" name="h-3-1-end" type="text" inputmode="numeric" '
        'placeholder="uu:mm" autocomplete="off" value="13.30" aria-invalid="true" '
        'aria-describedby="h-3-1-end-error">'
    ) in table
    assert table.count('aria-invalid="true"') == 1
    assert table.count('class="field-error"') == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"h-0-0-start": "25:00", "h-0-0-end": "26:00"}, "schrijf de tijd als uu:mm"),
        ({"h-0-0-start": "12:00", "h-0-0-end": "09:00"}, "de eindtijd moet later zijn"),
        ({"h-0-0-start": "09:00"}, "vul een begintijd én een eindtijd in"),
        (
            {
                "h-2-0-start": "09:00",
                "h-2-0-end": "12:00",
                "h-2-1-start": "11:00",
                "h-2-1-end": "13:00",
            },
            "Woensdag: twee blokken overlappen",
        ),
    ],
)
async def test_bad_hours_get_an_error_summary_and_change_nothing(
    server: Staffed, planner: aiohttp.ClientSession, fields: dict[str, str], message: str
) -> None:
    before = await _rules(server, ANNA)
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    # a valid Tuesday next to the bad field: nothing of the form may be saved
    form = {"csrf_token": token, "h-1-0-start": "13:00", "h-1-0-end": "14:00"} | fields
    status, _, page = await post(planner, f"{server.url}/staff/planner/staff/{ANNA}/hours", form)
    assert status == 400
    assert '<div class="error-summary" role="alert"' in page and message in page
    assert "<title>Fout: " in page
    assert 'aria-invalid="true"' in page
    assert await _rules(server, ANNA) == before
    assert await _audit(server, "availability.rules_replace") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first_day": "2020-01-06", "kind": "closed"}, "ligt in het verleden"),
        ({"first_day": "morgen", "kind": "closed"}, "Schrijf de eerste dag als jjjj-mm-dd"),
        ({"kind": "extra"}, "Extra uren hebben een begintijd en een eindtijd nodig"),
        ({"kind": "closed", "start": "12:00", "end": "10:00"}, "De eindtijd moet later zijn"),
        ({"kind": "closed", "reason": "ziek: griep"}, "Kies een reden."),
        ({"kind": "closed", "last_day": "2000-01-01"}, "De laatste dag ligt vóór de eerste dag"),
    ],
)
async def test_bad_exceptions_get_an_error_summary_and_change_nothing(
    server: Staffed, planner: aiohttp.ClientSession, fields: dict[str, str], message: str
) -> None:
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    form = {"csrf_token": token, "first_day": next_weekday(1).isoformat(), "reason": "vrij"}
    status, _, page = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/exceptions", form | fields
    )
    assert status == 400
    assert "Er is een probleem" in page and message in page
    async with server.app[ENGINE].connect() as conn:
        assert list(await conn.execute(select(availability_exceptions))) == []
    assert await _audit(server, "availability.exception_add") == []


# --- booking on behalf of a caller ---------------------------------------------------------


async def test_book_on_behalf_then_reschedule_then_cancel(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    tuesday = next_weekday(1)
    status, page = await get(planner, f"{server.url}/staff/planner/book")
    assert status == 200 and 'value="bijstand"' in page
    _, page = await get(planner, f"{server.url}/staff/planner/book?purpose=bijstand")
    assert f'value="{tuesday.isoformat()}"' in page
    _, page = await get(planner, f"{server.url}/staff/planner/book?purpose=bijstand&date={tuesday}")
    starts = START.findall(page)
    wanted = local(tuesday, 9).astimezone(UTC).isoformat()
    assert wanted in starts
    key, token = KEY.findall(page)[0], CSRF.findall(page)[0]
    form = {
        "csrf_token": token,
        "idempotency_key": key,
        "purpose": "bijstand",
        "date": tuesday.isoformat(),
        "start": wanted,
        "email": "inwoner@example.invalid",
        "phone": "",
    }
    status, location, _ = await post(planner, f"{server.url}/staff/planner/book", form)
    assert status == 303 and location.endswith("?klaar=geboekt")
    appointment_id = location.split("/")[-1].split("?")[0]
    # the same form sent twice (a double click, a retry): one booking
    again, location_again, _ = await post(planner, f"{server.url}/staff/planner/book", form)
    assert (again, location_again) == (303, location)
    booked = await booking_service(server).get(TENANT, appointment_id)
    assert booked.state is AppointmentState.BOOKED and booked.start == local(tuesday, 9)
    assert booked.contact.email == "inwoner@example.invalid"
    assert "inwoner@example.invalid" not in location
    assert "09:00" not in await _local_starts(server, "bijstand", tuesday)
    # booked at once: one step in the trail, by the planner, naming the contact given
    books = await _audit(server, "appointment.book")
    assert [(e.actor, e.attributes) for e in books] == [(PLANNER_ACTOR, ["contact_email"])]
    assert await _audit(server, "appointment.hold") == []

    detail_url = f"{server.url}/staff/planner/appointments/{appointment_id}"
    _, page = await get(planner, f"{detail_url}?date={tuesday}&klaar=geboekt")
    assert "De afspraak is geboekt." in page and booked.reference in page
    assert "inwoner@example.invalid" not in page  # the planner sees that there is one
    new_start = local(tuesday, 11).astimezone(UTC).isoformat()
    assert new_start in START.findall(page)
    reschedule_key = KEY.findall(page)[0]
    token = CSRF.findall(page)[0]
    form = {
        "csrf_token": token,
        "idempotency_key": reschedule_key,
        "version": str(booked.version),
        "date": tuesday.isoformat(),
        "start": new_start,
    }
    status, location, _ = await post(planner, f"{detail_url}/reschedule", form)
    assert status == 303 and location.endswith("?klaar=verzet")
    moved_id = location.split("/")[-1].split("?")[0]
    moved = await booking_service(server).get(TENANT, moved_id)
    old = await booking_service(server).get(TENANT, appointment_id)
    assert moved.start == local(tuesday, 11) and moved.rescheduled_from == appointment_id
    assert old.state is AppointmentState.CANCELLED
    assert "09:00" in await _local_starts(server, "bijstand", tuesday)

    # the old appointment's page offers nothing more; its stale cancel form is refused
    _, page = await get(planner, detail_url)
    assert "kan niet meer worden verzet of afgezegd" in page
    stale = {"csrf_token": token, "idempotency_key": "x" * 32, "version": str(booked.version)}
    status, _, page = await post(planner, f"{detail_url}/cancel", stale)
    assert status == 409 and "Er is een probleem" in page

    moved_url = f"{server.url}/staff/planner/appointments/{moved_id}"
    _, page = await get(planner, moved_url)
    cancel_key = KEY.findall(page)[0]
    form = {"csrf_token": token, "idempotency_key": cancel_key, "version": str(moved.version)}
    status, location, _ = await post(planner, f"{moved_url}/cancel", form)
    assert status == 303 and location.endswith("?klaar=afgezegd")
    cancelled = await booking_service(server).get(TENANT, moved_id)
    assert cancelled.state is AppointmentState.CANCELLED
    assert "11:00" in await _local_starts(server, "bijstand", tuesday)
    cancels = await _audit(server, "appointment.cancel")
    assert [e.actor for e in cancels] == [PLANNER_ACTOR]


async def test_booking_form_errors_change_nothing(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    tuesday = next_weekday(1)
    _, page = await get(planner, f"{server.url}/staff/planner/book?purpose=bijstand&date={tuesday}")
    key, token = KEY.findall(page)[0], CSRF.findall(page)[0]
    start = local(tuesday, 9).astimezone(UTC).isoformat()
    base = {"csrf_token": token, "idempotency_key": key, "purpose": "bijstand"}
    base |= {"date": tuesday.isoformat()}
    for fields, message in (
        ({}, "Kies een tijd."),
        ({"start": start, "email": "geen-adres"}, "Dit e-mailadres klopt niet"),
        ({"start": start, "phone": "bel me"}, "Gebruik alleen cijfers in een telefoonnummer"),
    ):
        status, _, page = await post(planner, f"{server.url}/staff/planner/book", base | fields)
        assert status == 400 and message in page
        assert "geen-adres" not in page.split("error-summary")[1].split("</div>")[0]
    # a time that is not offered (a Sunday night) is refused by the service
    sunday = local(next_weekday(6), 23).astimezone(UTC).isoformat()
    status, _, page = await post(
        planner, f"{server.url}/staff/planner/book", base | {"start": sunday}
    )
    assert status == 409 and "Op deze tijd kunt u geen afspraak maken" in page
    low = local(tuesday, 0) - timedelta(days=30)
    assert (
        await booking_service(server).appointments_between(TENANT, low, low + timedelta(days=90))
        == []
    )


# --- the numbers ---------------------------------------------------------------------------


async def test_dashboard_numbers_charts_and_csv(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    await seed_numbers(server)
    query = "from=2026-03-02&to=2026-03-09"
    status, page = await get(planner, f"{server.url}/staff/planner/dashboard?{query}")
    assert status == 200
    assert page.count('role="img"') == 3
    for chart in ("chart-calls", "chart-wait", "chart-satisfaction"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page and f'<desc id="{chart}-desc">' in page
    # every chart has the same viewBox width and fills the column, so the days line up
    assert re.findall(r'viewBox="0 0 (\d+) \d+" width="100%"', page) == [str(WIDTH)] * 3
    assert ' height="' not in page.split('viewBox="0 0 ')[1].split(">")[0]
    assert "In deze periode: 3 gesprekken, 1 keer niet verschenen." in page
    assert '<th scope="row">ma 2 mrt 2026</th><td>2</td><td>1</td><td>3</td><td>2</td>' in page
    assert "<td>Bijstand (Participatiewet)</td><td>4,5</td><td>2</td>" in page
    assert "Jansen" not in page and "persoon@" not in page

    async with planner.get(f"{server.url}/staff/planner/dashboard.csv?{query}") as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        body = await response.text()
    assert list(csv.reader(io.StringIO(body))) == EXPECTED_CSV
    assert "Jansen" not in body and "persoon@" not in body and ANNA not in body


async def test_dashboard_refuses_a_bad_range(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    for query, message in (
        ("from=2026-03-09&to=2026-03-02", "De begindatum ligt na de einddatum."),
        ("from=2024-01-01&to=2026-03-02", "Kies hoogstens 366 dagen."),
        ("from=gisteren", "Schrijf de begindatum als jjjj-mm-dd."),
    ):
        status, page = await get(planner, f"{server.url}/staff/planner/dashboard?{query}")
        assert status == 400 and message in page and 'role="img"' not in page
        async with planner.get(f"{server.url}/staff/planner/dashboard.csv?{query}") as response:
            assert response.status == 400


def test_numbers_count_by_local_day() -> None:
    # 23:30 UTC on 1 March is 00:30 on 2 March in Amsterdam
    late = Outcome(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "bijstand", "completed")
    numbers = compute_numbers(MONDAY - timedelta(days=1), MONDAY, [late], [], [])
    assert numbers.calls == (0, 1)
    assert numbers_csv(numbers).splitlines()[1] == "calls,2026-03-01,,0,"


def test_bar_heights_follow_the_values() -> None:
    chart = str(bar_chart("c", "T", "D", ["a", "b"], [Series("s", (1.0, 4.0))], maximum=4.0))
    heights = [
        float(h)
        for h in re.findall(
            r'<rect class="bar" x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"', chart
        )
    ]
    assert heights == [50.0, 200.0]
    assert '<title id="c-title">T</title>' in chart
    escaped = str(bar_chart("c", "<b>", "&", ["<i>"], [Series("<s>", (1.0,))]))
    assert "<b>" not in escaped and "<i>" not in escaped and "<s>" not in escaped


# --- who may use it ------------------------------------------------------------------------

PAGES = (
    "/staff/planner",
    f"/staff/planner/staff/{ANNA}",
    "/staff/planner/book",
    "/staff/planner/dashboard",
    "/staff/planner/dashboard.csv",
)


async def test_a_specialist_is_refused(server: Staffed) -> None:
    async with staff_client(server) as specialist:
        await sign_in(specialist, server, "specialist")
        for path in PAGES:
            status, page = await get(specialist, server.url + path)
            assert status == 403, path
            assert "U heeft hier geen toegang" in page
        token = await csrf_of(specialist, server.url + "/staff")
        before = await _rules(server, ANNA)
        status, _, _ = await post(
            specialist,
            f"{server.url}/staff/planner/staff/{ANNA}/hours",
            {"csrf_token": token, "h-1-0-start": "13:00", "h-1-0-end": "14:00"},
        )
        assert status == 403
        assert await _rules(server, ANNA) == before


async def test_without_sign_in_to_the_sign_in_page(server: Staffed) -> None:
    async with staff_client(server) as stranger:
        for path in PAGES:
            async with stranger.get(server.url + path, allow_redirects=False) as response:
                assert response.status == 303
                assert response.headers["Location"].startswith("/staff/sign-in")


async def test_another_tenants_data_is_refused(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    for path in PAGES:
        status, _ = await get(planner, f"{server.url}{path}?tenant=andere")
        assert status == 403, path
    # the other tenant's planner cannot reach the demo tenant's staff or appointments
    appointment_id = await book(server, "bijstand", local(next_weekday(1), 10))
    async with staff_client(server) as other:
        await sign_in(other, server, "other")
        for path in PAGES[:-1]:
            status, _ = await get(other, f"{server.url}{path}?tenant=demo")
            assert status == 403, path
        status, _ = await get(other, f"{server.url}/staff/planner/appointments/{appointment_id}")
        assert status == 404
        status, _ = await get(other, f"{server.url}/staff/planner/staff/{ANNA}")
        assert status == 404
        token = await csrf_of(other, server.url + "/staff")
        status, _, _ = await post(
            other,
            f"{server.url}/staff/planner/appointments/{appointment_id}/cancel",
            {"csrf_token": token, "idempotency_key": "k" * 32, "version": "2"},
        )
        assert status == 404
        status, page = await get(other, f"{server.url}/staff/planner")
        assert "Anna (demo)" not in page
    found = await booking_service(server).get(TENANT, appointment_id)
    assert found.state is AppointmentState.BOOKED


async def test_a_post_without_csrf_token_is_refused(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    before = await _rules(server, ANNA)
    for path, form in (
        (f"/staff/planner/staff/{ANNA}/hours", {"h-1-0-start": "13:00", "h-1-0-end": "14:00"}),
        (f"/staff/planner/staff/{ANNA}/exceptions", {"kind": "closed", "reason": "vrij"}),
        ("/staff/planner/book", {"purpose": "bijstand"}),
    ):
        status, _, page = await post(planner, server.url + path, form)
        assert status == 403 and "Dit formulier is verlopen" in page
        status, _, _ = await post(planner, server.url + path, form | {"csrf_token": "x" * 43})
        assert status == 403
    assert await _rules(server, ANNA) == before


def test_count_charts_have_grid_lines_at_whole_numbers_only() -> None:
    from server.staff.planner.charts import Series, bar_chart

    counts = bar_chart(
        "c", "Gesprekken", "Per dag", ["ma", "di"], [Series("n", (1.0, 2.0))], whole=True
    )
    averages = bar_chart("a", "Cijfer", "Per week", ["w1", "w2"], [Series("n", (1.0, 2.0))])
    assert ">0,5<" not in counts and ">1<" in counts and ">2<" in counts
    assert ">0,5<" in averages  # a mean may well lie between whole numbers


def _label_xs(chart: str) -> list[float]:
    return [float(x) for x in re.findall(r'<text x="([^"]+)"[^>]* transform="rotate', chart)]


def test_charts_share_one_width_and_their_labels_never_overlap() -> None:
    def days(count: int) -> list[str]:
        return [f"di {n} okt" for n in range(count)]

    one = bar_chart("a", "A", "D", days(28), [Series("s", (1.0,) * 28)])
    two = bar_chart("b", "B", "D", days(28), [Series("s", (1.0,) * 28), Series("t", (2.0,) * 28)])
    few = bar_chart("c", "C", "D", days(2), [Series("s", (1.0, 2.0))])
    widths = re.findall(r'viewBox="0 0 (\d+) ', "".join((one, two, few)))
    assert widths == [str(WIDTH)] * 3
    # the same day sits at the same x in every chart of the same days
    assert _label_xs(str(one)) == _label_xs(str(two)) and len(_label_xs(str(one))) == 28
    for count in (28, 31, 90, 366):
        xs = _label_xs(str(bar_chart("d", "D", "D", days(count), [Series("s", (1.0,) * count)])))
        assert xs[0] < WIDTH / 10 and len(xs) >= min(count, 30)
        assert min(b - a for a, b in itertools.pairwise(xs)) >= 22
