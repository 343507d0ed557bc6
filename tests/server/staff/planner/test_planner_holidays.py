"""Public holidays in the planner's week view, on a Balie whose clock stands on Wednesday
21 April 2027, the week before Koningsdag (Tuesday 27 April 2027). The demo planner's Anna
works Monday to Thursday, 09:00–12:30 and 13:30–17:00; the demo tenant keeps the default
holiday rules until a test changes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import insert, update

from server.booking.model import WeeklyRule
from server.core.clock import AMSTERDAM
from server.core.holidays import HolidayRules, to_data
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import availability_exceptions, tenants
from server.staff.planner.week import day_hours, first_shown
from tests.server.staff.planner.support import ANNA, TENANT, booking_service, get, post
from tests.server.staff.support import Staffed, csrf_of, signed_in, staffed_server
from tests.support import MovableClock

TODAY = date(2027, 4, 21)  # a Wednesday
KINGSDAY = date(2027, 4, 27)  # a Tuesday
ANNAS_DAY = "09:00–12:30, 13:30–17:00"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    noon = datetime.combine(TODAY, time(12), AMSTERDAM).astimezone(UTC)
    async with staffed_server(tmp_path, clock=MovableClock(noon)) as running:
        yield running


@pytest.fixture
async def planner(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    async with signed_in(server, "planner") as session:
        yield session


def anna_row(page: str) -> str:
    return page.split("Anna (demo)</a>")[1].split("</tr>")[0]


def header(page: str, day: date) -> str:
    return page.split(f'<time datetime="{day.isoformat()}">')[1].split("</th>")[0]


async def test_the_week_opens_on_today_and_marks_koningsdag(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    status, page = await get(planner, f"{server.url}/staff/planner")
    assert status == 200
    shown = page.split("<thead>")[1].split("</thead>")[0]
    assert shown.index('<time datetime="2027-04-21">') < shown.index('datetime="2027-04-27"')
    assert 'datetime="2027-04-19"' not in shown and 'datetime="2027-04-20"' not in shown
    assert 'datetime="2027-04-28"' not in shown  # seven days: today and the six after it
    assert "Koningsdag" in header(page, KINGSDAY)
    assert "Feestdag: geen afspraken" in header(page, KINGSDAY)
    # Wednesday, Thursday and Monday; not Koningsdag
    assert anna_row(page).count(ANNAS_DAY) == 3
    assert "?week=2027-04-12" in page and "?week=2027-04-26" in page
    assert ">Deze week</a>" not in page


async def test_a_chosen_week_runs_monday_to_sunday_with_its_holidays(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    _, easter = await get(planner, f"{server.url}/staff/planner?week=2027-03-26")
    assert '<time datetime="2027-03-22">' in easter and '<time datetime="2027-03-28">' in easter
    assert "Goede vrijdag" in header(easter, date(2027, 3, 26))
    assert "afspraken als gewoonlijk" in header(easter, date(2027, 3, 26))  # the default
    assert "Eerste paasdag" in header(easter, date(2027, 3, 28))
    assert ">Deze week</a>" in easter
    _, after = await get(planner, f"{server.url}/staff/planner?week=2027-03-29")
    assert "Tweede paasdag" in header(after, date(2027, 3, 29))
    assert anna_row(after).count(ANNAS_DAY) == 3  # Tuesday to Thursday
    assert "Koningsdag" not in after


async def test_extra_hours_on_a_holiday_show_and_book(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(
            insert(availability_exceptions).values(
                tenant_id=TENANT,
                staff_id=ANNA,
                day=KINGSDAY,
                kind="extra",
                start_time=time(10),
                end_time=time(12),
                reason="Extra spreekuur",
            )
        )
    _, page = await get(planner, f"{server.url}/staff/planner")
    kingsday_cell = anna_row(page).split("<td>")[7]  # the seventh day: 27 April
    assert "10:00–12:00" in kingsday_cell and ANNAS_DAY not in kingsday_cell
    times = await booking_service(server).available_times(TENANT, "bijstand", KINGSDAY)
    assert times and all(slot.staff_ids == (ANNA,) for slot in times)


async def test_a_tenant_open_on_holidays_sees_koningsdag_as_a_working_day(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(
            update(tenants)
            .where(tenants.c.id == TENANT)
            .values(holidays=to_data(HolidayRules(close=False)))
        )
    _, page = await get(planner, f"{server.url}/staff/planner")
    assert "Feestdag: afspraken als gewoonlijk" in header(page, KINGSDAY)
    assert anna_row(page).count(ANNAS_DAY) == 4


def test_the_first_day_shown_is_today_unless_a_week_is_asked() -> None:
    assert first_shown(None, TODAY) == TODAY
    assert first_shown("2027-13-01", TODAY) == TODAY  # a wrong date: today, not an error
    assert first_shown("2027-04-29", TODAY) == date(2027, 4, 26)
    assert first_shown("2027-04-19", TODAY) == date(2027, 4, 19)  # past weeks stay reachable


def test_day_hours_take_the_weekly_hours_on_a_closing_holiday_only() -> None:
    rules = [WeeklyRule(1, time(9), time(17))]
    assert day_hours(rules, [], KINGSDAY)[0] == [(time(9), time(17))]  # no rules: ignored
    assert day_hours(rules, [], KINGSDAY, holidays=HolidayRules())[0] == []
    assert day_hours(rules, [], KINGSDAY, holidays=HolidayRules(close=False))[0] == [
        (time(9), time(17))
    ]


async def test_the_date_fields_are_date_inputs_checked_by_the_server(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    _, staff_page = await get(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    for name in ("first_day", "last_day"):
        assert f'id="{name}" name="{name}" type="date"' in staff_page
    assert 'id="start" name="start" type="text"' in staff_page  # times stay text (uu:mm)
    _, dashboard = await get(planner, f"{server.url}/staff/planner/dashboard")
    for name in ("from", "to"):
        assert f'id="{name}" name="{name}" type="date"' in dashboard
    _, week = await get(planner, f"{server.url}/staff/planner")
    assert 'id="week" name="week" type="date" autocomplete="off" value=""' in week
    _, chosen = await get(planner, f"{server.url}/staff/planner?week=2027-05-05")
    assert 'name="week" type="date" autocomplete="off" value="2027-05-03"' in chosen
    # a browser without date inputs sends what was typed: the server still refuses it
    token = await csrf_of(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    form = {"csrf_token": token, "kind": "closed", "first_day": "27-04-2027", "reason": "vrij"}
    status, _, page = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/exceptions", form
    )
    assert status == 400
    assert "Schrijf de eerste dag als jjjj-mm-dd, bijvoorbeeld 2026-04-27." in page
    assert 'id="first_day" name="first_day" type="date"' in page and 'aria-invalid="true"' in page
