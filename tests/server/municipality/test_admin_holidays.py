"""The holiday fieldset on the administrator's page: what booking does on Dutch public
holidays. A saved choice is written in :mod:`server.core.holidays`'s stored form, audited, and
read back by the booking service (a holiday becomes bookable, or stays closed); a bad answer
is refused with a message per question and changes nothing; other roles are refused.

The clock stands on Monday 19 April 2027, 09:00: Koningsdag (Tuesday 27 April), Bevrijdingsdag
(Wednesday 5 May) and Hemelvaartsdag (Thursday 6 May) are weekdays within the 28-day horizon
of the demo's "burgerzaken", whose specialist Daan works Monday to Friday.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import update

from server.booking.appkeys import BOOKING
from server.core.clock import AMSTERDAM
from server.core.holidays import HolidayRules, LiberationDay, to_data
from server.core.language import COOKIE
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import tenants
from server.municipality.store import HOLIDAYS_SAVED
from tests.server.municipality import support
from tests.server.municipality.support import PAGE, errors_of, post, saves, stored
from tests.server.staff.support import Staffed, csrf_of, signed_in, staffed_server
from tests.support import MovableClock

HOLIDAYS = PAGE + "/feestdagen"
KINGSDAY = date(2027, 4, 27)
LIBERATION_DAY = date(2027, 5, 5)  # 2027 is not a lustrum year
ASCENSION = date(2027, 5, 6)
OPEN = {"holidays_close": "open", "liberation_day": "every-year", "good_friday": "open"}


admin = support.admin


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    monday = datetime.combine(date(2027, 4, 19), time(9), AMSTERDAM)
    async with staffed_server(tmp_path, clock=MovableClock(monday)) as running:
        yield running


async def bookable(server: Staffed) -> set[date]:
    """The days in question on which a resident can book "burgerzaken" now."""
    dates = await server.app[BOOKING].available_dates("demo", "burgerzaken")
    return {KINGSDAY, LIBERATION_DAY, ASCENSION} & set(dates)


async def page_of(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        assert response.status == 200
        return await response.text()


def checked(page: str, name: str) -> list[str]:
    """The radio ids of group ``name`` that are checked."""
    found = []
    for part in page.split('<input type="radio" id="')[1:]:
        radio_id, rest = part.split('"', 1)
        if f'name="{name}"' in rest.split(">", 1)[0] and " checked" in rest.split(">", 1)[0]:
            found.append(radio_id)
    return found


async def test_the_page_shows_the_defaults_while_nothing_is_stored(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    assert await stored(server, tenants.c.holidays) is None
    page = await page_of(admin, server.url + PAGE)
    assert "<legend><h2>Feestdagen voor afspraken</h2></legend>" in page
    assert f'action="{HOLIDAYS}"' in page
    assert checked(page, "holidays_close") == ["holidays_close"]  # "dicht", the first
    assert checked(page, "liberation_day") == ["liberation_day"]  # "every-year"
    assert checked(page, "good_friday") == ["good_friday-open"]
    assert await bookable(server) == set()


async def test_holidays_open_makes_koningsdag_bookable_audited(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    status, location, _ = await post(admin, server, OPEN, path=HOLIDAYS)
    assert (status, location) == (303, PAGE + "?klaar=feestdagen")
    page = await page_of(admin, server.url + location)
    assert "De keuze voor de feestdagen is opgeslagen." in page
    assert checked(page, "holidays_close") == ["holidays_close-open"]

    # written by the holidays module's own function, and read back by booking
    assert await stored(server, tenants.c.holidays) == to_data(HolidayRules(close=False))
    assert await bookable(server) == {KINGSDAY, LIBERATION_DAY, ASCENSION}
    times = await server.app[BOOKING].available_times("demo", "burgerzaken", KINGSDAY)
    assert times and times[0].start.astimezone(AMSTERDAM).time() >= time(9)
    assert await saves(server, HOLIDAYS_SAVED) == [("staff:demo-admin", "tenant:demo", "demo")]

    # and closed again: the next save writes its own audit row
    closed = OPEN | {"holidays_close": "dicht"}
    assert (await post(admin, server, closed, path=HOLIDAYS))[0] == 303
    assert await bookable(server) == set()
    assert len(await saves(server, HOLIDAYS_SAVED)) == 2


async def test_liberation_day_in_lustrum_years_only_opens_5_may_2027(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    form = OPEN | {"holidays_close": "dicht", "liberation_day": "lustrum", "good_friday": "dicht"}
    assert (await post(admin, server, form, path=HOLIDAYS))[0] == 303
    assert await stored(server, tenants.c.holidays) == to_data(
        HolidayRules(liberation_day=LiberationDay.LUSTRUM, good_friday=True)
    )
    assert await bookable(server) == {LIBERATION_DAY}
    page = await page_of(admin, server.url + PAGE)
    assert checked(page, "liberation_day") == ["liberation_day-lustrum"]
    assert checked(page, "good_friday") == ["good_friday"]


async def test_a_bad_answer_is_refused_per_question_and_changes_nothing(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    bad = {"holidays_close": "open", "liberation_day": "altijd"}  # no good_friday at all
    status, _, page = await post(admin, server, bad, path=HOLIDAYS)
    assert status == 400
    assert errors_of(page) == {
        "liberation_day": "Kies of Bevrijdingsdag elk jaar, om de 5 jaar of nooit dicht is "
        "voor afspraken.",
        "good_friday": "Kies of inwoners op Goede Vrijdag een afspraak kunnen maken.",
    }
    assert "De keuze voor de feestdagen is niet opgeslagen." in page
    assert 'href="#liberation_day"' in page and 'href="#good_friday"' in page
    assert 'aria-describedby="holidays-only-hint liberation_day-error"' in page
    # the good answer comes back as given, the bad ones check nothing; the profile as stored
    assert checked(page, "holidays_close") == ["holidays_close-open"]
    assert checked(page, "liberation_day") == [] and checked(page, "good_friday") == []
    assert 'value="0900-0000000"' in page
    assert await stored(server, tenants.c.holidays) is None
    assert await saves(server, HOLIDAYS_SAVED) == []
    assert await bookable(server) == set()


async def test_the_errors_speak_english_after_the_switch(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    admin.cookie_jar.update_cookies({COOKIE: "en"})
    status, _, page = await post(admin, server, OPEN | {"holidays_close": "ja"}, path=HOLIDAYS)
    assert status == 400
    assert errors_of(page) == {
        "holidays_close": "Choose whether residents can make an appointment on public holidays."
    }
    assert "Public holidays for appointments" in page


async def test_a_profile_error_leaves_the_holidays_as_stored(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    assert (await post(admin, server, OPEN, path=HOLIDAYS))[0] == 303
    status, _, page = await post(admin, server, {"phone": "bel ons"})
    assert status == 400
    assert checked(page, "holidays_close") == ["holidays_close-open"]
    assert "Er is niets opgeslagen. Verbeter de velden hieronder." in page
    assert await stored(server, tenants.c.holidays) == to_data(HolidayRules(close=False))


async def test_rules_that_do_not_read_are_shown_as_the_defaults_and_can_be_fixed(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    broken = to_data(HolidayRules(close=False)) | {"close": "nee"}
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(update(tenants).where(tenants.c.id == "demo").values(holidays=broken))
    page = await page_of(admin, server.url + PAGE)
    assert "De opgeslagen keuze voor de feestdagen kon niet gelezen worden." in page
    assert checked(page, "holidays_close") == ["holidays_close"]
    assert await bookable(server) == set()  # booking, too, falls back to the defaults

    assert (await post(admin, server, OPEN, path=HOLIDAYS))[0] == 303
    page = await page_of(admin, server.url + PAGE)
    assert "kon niet gelezen worden" not in page
    assert await bookable(server) == {KINGSDAY, LIBERATION_DAY, ASCENSION}


@pytest.mark.parametrize("login", ["specialist", "planner"])
async def test_other_roles_may_not_post_it(server: Staffed, login: str) -> None:
    async with signed_in(server, login) as session:
        token = await csrf_of(session, server.url + "/staff")
        async with session.post(
            server.url + HOLIDAYS, data=OPEN | {"csrf_token": token}, allow_redirects=False
        ) as response:
            assert response.status == 403
    assert await stored(server, tenants.c.holidays) is None
    assert await saves(server, HOLIDAYS_SAVED) == []
    assert await bookable(server) == set()


async def test_a_post_without_the_token_changes_nothing(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    async with admin.post(server.url + HOLIDAYS, data=OPEN, allow_redirects=False) as response:
        assert response.status == 403
    assert await stored(server, tenants.c.holidays) is None
    assert await saves(server, HOLIDAYS_SAVED) == []
