"""The planner console in English, beside Dutch, against a real Balie (SQLite): a planner who
chose English sees the week, hours and exceptions, booking, an appointment and the numbers in
English, with English dates, form errors and chart texts, and no Dutch is left on those pages
apart from names stored in Dutch. The CSV stays data: the same header and values in every
language. The fixtures and helpers are those of ``test_planner``.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, timedelta
from typing import Final

import aiohttp

from server.booking.appkeys import CATALOG
from server.booking.catalog import PurposeInfo
from server.core.date_words import short_day_words
from server.staff.planner.charts import Series, bar_chart
from tests.english import assert_english, choose_english
from tests.server.staff.planner.support import (
    ANNA,
    EXPECTED_CSV,
    HIDDEN_LABEL,
    HOURS_TABLE,
    KEY,
    TENANT,
    book,
    get,
    local,
    next_weekday,
    post,
    seed_numbers,
)
from tests.server.staff.support import CSRF, Staffed, csrf_of

#: Dutch words of the planner console, on top of the common ones
PLANNER_DUTCH: Final = (
    "medewerker",
    "werktijd",
    "uitzondering",
    "vaardigheid",
    "blok ",
    "toon ",
    "cijfer",
    "wachttijd",
    "verschenen",
    "geboekt",
    "nederlandse",
    "jjjj",
    "uu:mm",
    "fout:",
    "uitgelogd",
)
#: the skills of the demo staff, stored (and shown) as keys
SKILLS: Final = ("participatiewet", "burgerzaken", "belastingen", "wmo")
SHORT_DAY: Final = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}"


async def stored_names(server: Staffed) -> list[str]:
    """Names stored in Dutch and shown as stored: the purposes, longest first."""
    purposes: list[PurposeInfo] = await server.app[CATALOG].purposes(TENANT)
    return sorted((purpose.name for purpose in purposes), key=len, reverse=True)


def title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


def heading(page: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


def switch_back(page: str) -> str:
    found = re.search(r'name="terug" value="([^"]*)"', page)
    assert found is not None
    return html.unescape(found.group(1))


# --- the pages in English ------------------------------------------------------------------


async def test_the_week_and_the_hours_in_english(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    choose_english(planner, server.url)
    names = await stored_names(server)
    names += [f"{a}, {b}" for a in SKILLS for b in SKILLS] + list(SKILLS)
    names.sort(key=len, reverse=True)
    tuesday = next_weekday(1)
    # on Wednesday: a closed Tuesday over a booking would first ask what becomes of it
    booked = await book(server, "bijstand", local(tuesday + timedelta(days=1), 10))
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    closed = {"csrf_token": token, "kind": "closed", "first_day": tuesday.isoformat()}
    status, _, _ = await post(
        planner,
        f"{server.url}/staff/planner/staff/{ANNA}/exceptions",
        closed | {"reason": "afwezig"},
    )
    assert status == 303

    status, page = await get(planner, f"{server.url}/staff/planner?week={tuesday}")
    assert status == 200
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert re.fullmatch(rf"Week from {SHORT_DAY} to {SHORT_DAY} \d{{4}}", heading(page))
    label = short_day_words(tuesday, "en")
    assert f'<time datetime="{tuesday.isoformat()}">{label}</time>' in page
    assert "Not available all day (Absent)" in page
    assert "(booked, " in page and f"/staff/planner/appointments/{booked}" in page

    status, page = await get(planner, f"{server.url}/staff/planner/staff/{ANNA}?klaar=uren")
    assert status == 200
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert heading(page) == "Working hours of Anna (demo)"
    assert '<p class="notice" role="status">The working hours have been saved.</p>' in page
    # the switch goes back to the page, not to the notice of a change made before
    assert switch_back(page) == f"/staff/planner/staff/{ANNA}"
    found = HOURS_TABLE.search(page)
    assert found is not None
    labels = dict(HIDDEN_LABEL.findall(found.group(0)))
    assert labels["h-3-1-end"] == "Thursday, block 2, to"
    assert re.findall(r'<th scope="row">(\w+)</th>', found.group(0))[:2] == ["Monday", "Tuesday"]
    assert 'placeholder="hh:mm"' in page
    assert f"<td>{short_day_words(tuesday, 'en')} {tuesday.year}</td>" in page
    assert "<td>Not available</td><td>all day</td><td>Absent</td>" in page
    assert '<option value="vrij" selected>Day off or holiday</option>' in page


async def test_booking_and_an_appointment_in_english(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    choose_english(planner, server.url)
    names = await stored_names(server)
    tuesday = next_weekday(1)
    status, page = await get(planner, f"{server.url}/staff/planner/book")
    assert status == 200
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert heading(page) == "Make an appointment for a resident"
    assert "(30 minutes)" in page

    url = f"{server.url}/staff/planner/book?purpose=bijstand&date={tuesday}"
    _, page = await get(planner, url)
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert f">{short_day_words(tuesday, 'en')} {tuesday.year}</option>" in page
    assert "<legend>Time (Dutch time)</legend>" in page
    start = local(tuesday, 9).astimezone(UTC).isoformat()
    form = {
        "csrf_token": CSRF.findall(page)[0],
        "idempotency_key": KEY.findall(page)[0],
        "purpose": "bijstand",
        "date": tuesday.isoformat(),
        "start": start,
        "email": "",
        "phone": "",
    }
    status, location, _ = await post(planner, f"{server.url}/staff/planner/book", form)
    assert status == 303 and location.endswith("?klaar=geboekt")

    _, page = await get(planner, server.url + location)
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert heading(page).startswith("Appointment ")
    assert "The appointment has been booked." in page
    assert f"{short_day_words(tuesday, 'en')} {tuesday.year}, 09:00–09:30 (Dutch time)" in page
    assert "<dd>booked</dd>" in page and "<dd>not given</dd>" in page
    assert "Cancel the appointment" in page


async def test_the_numbers_in_english_and_the_csv_unchanged(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    choose_english(planner, server.url)
    names = await stored_names(server)
    await seed_numbers(server)
    query = "from=2026-03-02&to=2026-03-09"
    status, page = await get(planner, f"{server.url}/staff/planner/dashboard?{query}")
    assert status == 200
    assert_english(page, leave_out=[*names, "Wmo"], more_dutch=PLANNER_DUTCH)
    assert heading(page) == "Figures"
    assert "Calls in this period: 3. No-shows: 1." in page
    assert '<th scope="row">Mon 2 Mar 2026</th><td>2</td><td>1</td><td>3</td><td>2</td>' in page
    assert "<td>Bijstand (Participatiewet)</td><td>4.5</td><td>2</td>" in page
    assert '<title id="chart-calls-title">Calls and no-shows per day</title>' in page
    assert "Bar chart from Mon 2 Mar 2026 to Mon 9 Mar 2026: per day" in page
    assert ">No-shows</text>" in page and ">No subject</text>" in page
    assert ">0,5<" not in page

    async with planner.get(f"{server.url}/staff/planner/dashboard.csv?{query}") as response:
        assert response.status == 200
        body = await response.text()
    assert list(csv.reader(io.StringIO(body))) == EXPECTED_CSV


# --- errors in English ---------------------------------------------------------------------


async def test_form_errors_in_english(server: Staffed, planner: aiohttp.ClientSession) -> None:
    choose_english(planner, server.url)
    names = await stored_names(server)
    token = await csrf_of(planner, server.url + f"/staff/planner/staff/{ANNA}")
    hours = {"csrf_token": token, "h-3-1-start": "13:00", "h-3-1-end": "13.30"}
    status, _, page = await post(planner, f"{server.url}/staff/planner/staff/{ANNA}/hours", hours)
    assert status == 400
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert title(page).startswith("Error: Working hours of Anna (demo)")
    assert '<h2 id="error-summary-title">There is a problem</h2>' in page
    assert (
        '<a href="#h-3-1-end">Thursday, block 2: write the time as hh:mm, for example 09:00.</a>'
    ) in page
    # the switch goes back to the hours page, not to the address of the POST
    assert switch_back(page) == f"/staff/planner/staff/{ANNA}"

    exception = {"csrf_token": token, "first_day": "2020-01-06", "kind": "closed"}
    status, _, page = await post(
        planner, f"{server.url}/staff/planner/staff/{ANNA}/exceptions", exception
    )
    assert status == 400
    assert "The first day is in the past. Choose today or later." in page
    assert "Choose a reason." in page

    tuesday = next_weekday(1)
    book = {"csrf_token": token, "purpose": "bijstand", "date": tuesday.isoformat()}
    status, _, page = await post(
        planner, f"{server.url}/staff/planner/book", book | {"phone": "abc"}
    )
    assert status == 400
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert "Use only digits in a phone number, for example 06 12345678." in page
    assert switch_back(page) == f"/staff/planner/book?purpose=bijstand&date={tuesday}"

    status, page = await get(planner, f"{server.url}/staff/planner/dashboard?from=gisteren")
    assert status == 400
    assert_english(page, leave_out=names, more_dutch=PLANNER_DUTCH)
    assert "Write the start date as yyyy-mm-dd." in page


async def test_without_a_choice_the_console_stays_dutch(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    status, page = await get(planner, f"{server.url}/staff/planner")
    assert status == 200
    assert '<html lang="nl">' in page
    assert 'name="taal" value="en" lang="en">English' in page
    assert "<h1>Week van " in page and "Weekoverzicht" in page


# --- dates and charts ----------------------------------------------------------------------


def test_short_day_words_in_dutch_and_english() -> None:
    assert short_day_words(date(2026, 12, 1)) == "di 1 dec"
    assert short_day_words(date(2026, 3, 2)) == "ma 2 mrt"
    assert short_day_words(date(2026, 12, 1), "nl") == "di 1 dec"
    assert short_day_words(date(2026, 12, 1), "en") == "Tue 1 Dec"
    assert short_day_words(date(2026, 3, 2), "en") == "Mon 2 Mar"
    assert short_day_words(date(2026, 5, 31), "en") == "Sun 31 May"


def test_an_english_chart_writes_a_decimal_point() -> None:
    series = [Series("n", (1.0, 2.0))]
    dutch = str(bar_chart("a", "Cijfer", "Per week", ["w1", "w2"], series))
    english_chart = str(bar_chart("a", "Score", "Per week", ["w1", "w2"], series, language="en"))
    assert ">0,5<" in dutch and ">0.5<" not in dutch
    assert ">0.5<" in english_chart and ">0,5<" not in english_chart
