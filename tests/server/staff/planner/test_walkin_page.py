"""The planner's "Inloopbalies" pages against a real Balie, on SQLite and on the real
PostgreSQL: saving a counter's hours and limits, every kind of bad input refused with the
field named and nothing changed, the counter's state "now" by the application's clock (on
Koningsdag, outside hours, on an exception), switching a counter off, and who may do it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from server.config import DatabaseSettings
from server.core.clock import AMSTERDAM
from server.core.limits import LocalLimiter
from server.db.appkeys import ENGINE
from server.db.schema import audit_events
from server.walkin.appkeys import WALKIN
from server.walkin.counters import Counter
from server.walkin.hours import (
    DateException,
    ExceptionKind,
    HolidayRules,
    LiberationDay,
    OpeningHours,
    to_data,
)
from tests.server.staff.planner.support import TENANT, get, post
from tests.server.staff.support import (
    Staffed,
    csrf_of,
    sign_in,
    signed_in,
    staff_client,
    staffed_server,
)
from tests.support import MovableClock, config_for

PAGE = "/staff/planner/inloop"
#: Monday 27 April 2026 is Koningsdag
KINGS_DAY = date(2026, 4, 27)

GOOD = {
    "dag-0": "09:00-12:00, 13:00-16:00",
    "dag-1": "9:00 - 12:00;13:00–16:00",  # written loosely: read the same
    "dag-2": "09:00-12:00",
    "dag-3": "13:00-16:00, 09:00-12:00",  # out of order: sorted
    "dag-4": "09:00-12:00",
    "dag-5": "",
    "dag-6": "",
    "feestdagen": "dicht",
    "bevrijdingsdag": "lustrum",
    "goede-vrijdag": "ja",
    "uitzonderingen": "2026-12-24 09:00-12:00\r\n\r\n2026-12-31 dicht\r\n2026-05-15 Gesloten",
    "max-wachtenden": "12",
    "max-wachttijd": "45",
    "gespreksduur": "20",
}
MORNING = (clock(9), clock(12))
AFTERNOON = (clock(13), clock(16))
SAVED = Counter(
    purpose="bijstand",
    hours=OpeningHours(
        weekly=(
            (MORNING, AFTERNOON),
            (MORNING, AFTERNOON),
            (MORNING,),
            (MORNING, AFTERNOON),
            (MORNING,),
            (),
            (),
        ),
        exceptions=(
            DateException(date(2026, 12, 24), ExceptionKind.OPEN, (MORNING,)),
            DateException(date(2026, 12, 31), ExceptionKind.CLOSED),
            DateException(date(2026, 5, 15), ExceptionKind.CLOSED),
        ),
        holidays=HolidayRules(close=True, liberation_day=LiberationDay.LUSTRUM, good_friday=True),
    ),
    max_waiting=12,
    max_wait=timedelta(minutes=45),
    handling=timedelta(minutes=20),
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=AMSTERDAM).astimezone(UTC)


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[Staffed]:
    config = config_for(tmp_path, database=DatabaseSettings(url=database_url, demo_data=True))
    # a Tuesday in March, 10:00: nothing special about it
    clock_ = MovableClock(local(date(2026, 3, 3), 10))
    async with staffed_server(tmp_path, clock=clock_, config=config) as running:
        yield running


@pytest.fixture
async def planner(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    async with signed_in(server, "planner") as session:
        yield session


async def stored(server: Staffed, purpose: str = "bijstand") -> dict[str, Any] | None:
    counter = await server.app[WALKIN].counters.get(TENANT, purpose)
    if counter is None:
        return None
    return {
        "hours": to_data(counter.hours),
        "max_waiting": counter.max_waiting,
        "max_wait": counter.max_wait,
        "handling": counter.handling,
    }


async def audited(server: Staffed) -> list[tuple[str, str, str]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(audit_events).where(audit_events.c.action.like("walkin.%"))
        )
        return [(row.action, row.actor, row.subject) for row in rows]


async def save(
    session: aiohttp.ClientSession, server: Staffed, form: dict[str, str], purpose: str = "bijstand"
) -> tuple[int, str, str]:
    token = await csrf_of(session, f"{server.url}{PAGE}/{purpose}")
    return await post(session, f"{server.url}{PAGE}/{purpose}", {"csrf_token": token} | form)


def field_value(page: str, input_id: str) -> str:
    if input_id == "uitzonderingen":
        found = re.search(r'<textarea id="uitzonderingen"[^>]*>([^<]*)</textarea>', page)
    else:
        found = re.search(rf'<input id="{input_id}" name="{input_id}"[^>]* value="([^"]*)"', page)
    assert found is not None, input_id
    return found.group(1)


def state_now(page: str) -> str:
    found = re.search(
        r'<p class="walkin-now" id="walkin-now"><strong>Nu:</strong> ([^<]+)</p>', page
    )
    assert found is not None
    return found.group(1)


# --- saving --------------------------------------------------------------------------------


async def test_good_settings_are_saved_and_shown_again(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    status, location, _ = await save(planner, server, GOOD)
    assert (status, location) == (303, f"{PAGE}/bijstand?klaar=inloop")
    counter = await server.app[WALKIN].counters.get(TENANT, "bijstand")
    assert counter == SAVED
    assert await audited(server) == [
        ("walkin.counter_save", "staff:demo-planner", "purpose:bijstand")
    ]

    status, page = await get(planner, f"{server.url}{PAGE}/bijstand?klaar=inloop")
    assert status == 200
    assert '<p class="notice" role="status">De inloopbalie is opgeslagen.</p>' in page
    # written back the way the form takes it: saving the page unchanged changes nothing
    assert field_value(page, "dag-1") == "09:00-12:00, 13:00-16:00"
    assert field_value(page, "dag-3") == "09:00-12:00, 13:00-16:00"
    assert field_value(page, "dag-5") == ""
    assert field_value(page, "uitzonderingen") == (
        "2026-05-15 dicht\n2026-12-24 09:00-12:00\n2026-12-31 dicht"
    )
    assert field_value(page, "max-wachtenden") == "12"
    assert 'id="bevrijdingsdag-lustrum" name="bevrijdingsdag" value="lustrum" checked' in page
    assert 'id="goede-vrijdag" name="goede-vrijdag" value="ja" checked' in page
    # Tuesday 3 March 2026 at 10:00
    assert state_now(page) == "Nu open, tot 12:00."

    again = {
        name: field_value(page, name)
        for name in (
            *(f"dag-{n}" for n in range(7)),
            "uitzonderingen",
            "max-wachtenden",
            "max-wachttijd",
            "gespreksduur",
        )
    } | {"feestdagen": "dicht", "bevrijdingsdag": "lustrum", "goede-vrijdag": "ja"}
    assert (await save(planner, server, again))[0] == 303
    assert await server.app[WALKIN].counters.get(TENANT, "bijstand") == SAVED

    # empty limits mean no limit; Goede Vrijdag unticked opens it
    limitless = GOOD | {"max-wachtenden": "", "max-wachttijd": " "}
    del limitless["goede-vrijdag"]
    assert (await save(planner, server, limitless))[0] == 303
    counter = await server.app[WALKIN].counters.get(TENANT, "bijstand")
    assert counter is not None
    assert (counter.max_waiting, counter.max_wait) == (None, None)
    assert counter.hours.holidays.good_friday is False

    # the overview shows the purpose's hours and limits
    _, overview = await get(planner, f"{server.url}{PAGE}")
    row = overview.split('<th scope="row">Bijstand (Participatiewet)</th>')[1].split("</tr>")[0]
    assert "<li>Maandag: 09:00-12:00, 13:00-16:00</li>" in row
    assert "Zaterdag" not in row
    assert "geen grens aan de wachtrij, gesprek gemiddeld 20 minuten" in row
    assert 'href="/staff/planner/inloop/bijstand"' in row


BAD = [
    ({"dag-0": "12:00-09:00"}, "dag-0", "Maandag: 12:00-09:00 eindigt vóór het begint."),
    (
        {"dag-1": "09:00-09:00"},
        "dag-1",
        "Dinsdag: 09:00-09:00 begint en eindigt op dezelfde tijd.",
    ),
    (
        {"dag-2": "09:00-12:00, 11:00-13:00"},
        "dag-2",
        "Woensdag: 09:00-12:00 en 11:00-13:00 overlappen.",
    ),
    ({"dag-3": "9 tot 12"}, "dag-3", "Donderdag: „9 tot 12” is geen tijd van–tot."),
    ({"dag-4": "25:00-26:00"}, "dag-4", "Vrijdag: „25:00-26:00” is geen tijd van–tot."),
    ({"dag-5": "09:00-12:00-13:00"}, "dag-5", "Zaterdag: „09:00-12:00-13:00” is geen tijd"),
    (
        {"uitzonderingen": "2026-12-24 09:00-12:00\n2026-02-30 dicht"},
        "uitzonderingen",
        "Uitzonderingen, regel 2: „2026-02-30” is geen datum.",
    ),
    (
        {"uitzonderingen": "24-12-2026 dicht"},
        "uitzonderingen",
        "Uitzonderingen, regel 1: „24-12-2026” is geen datum.",
    ),
    (
        {"uitzonderingen": "2026-12-24 09:00-12:00\n2026-12-24 dicht"},
        "uitzonderingen",
        "Uitzonderingen, 2026-12-24: deze datum staat er twee keer in.",
    ),
    (
        {"uitzonderingen": "2026-12-24"},
        "uitzonderingen",
        "Uitzonderingen, 2026-12-24: zet achter de datum de tijden (09:00-12:00) of het woord "
        "dicht.",
    ),
    (
        {"uitzonderingen": "2026-12-24 14:00-10:00"},
        "uitzonderingen",
        "Uitzonderingen, 2026-12-24: 14:00-10:00 eindigt vóór het begint.",
    ),
    (
        {"uitzonderingen": "2026-12-24 09:00-12:00, 10:00-11:00"},
        "uitzonderingen",
        "Uitzonderingen, 2026-12-24: 09:00-12:00 en 10:00-11:00 overlappen.",
    ),
    (
        {"uitzonderingen": "\n".join(f"2026-01-01 dicht {n}" for n in range(201))},
        "uitzonderingen",
        "Uitzonderingen: hoogstens 200 regels.",
    ),
    (
        {"max-wachtenden": "0"},
        "max-wachtenden",
        "Hoogstens zoveel inwoners tegelijk in de wachtrij: vul een heel getal van 1 tot en "
        "met 999 in. Leeg laten kan ook: dan is er geen grens.",
    ),
    (
        {"max-wachtenden": "veel"},
        "max-wachtenden",
        "Hoogstens zoveel inwoners tegelijk in de wachtrij: vul een heel getal",
    ),
    (
        {"max-wachttijd": "-5"},
        "max-wachttijd",
        "Langste verwachte wachttijd (minuten): vul een heel getal van 1 tot en met 480 in.",
    ),
    (
        {"gespreksduur": ""},
        "gespreksduur",
        "Gemiddelde duur van een gesprek (minuten): vul een getal in.",
    ),
    (
        {"gespreksduur": "7,5"},
        "gespreksduur",
        "Gemiddelde duur van een gesprek (minuten): vul een heel getal van 1 tot en met 240 in.",
    ),
    (
        {"feestdagen": "misschien"},
        "feestdagen-dicht",
        "Feestdagen: kies of de inloopbalie op feestdagen dicht of open is.",
    ),
    (
        {"bevrijdingsdag": "soms"},
        "bevrijdingsdag-every-year",
        "Bevrijdingsdag: kies elk jaar dicht, alleen in lustrumjaren, of nooit.",
    ),
    ({"goede-vrijdag": "nee"}, "goede-vrijdag", "Goede Vrijdag: vink aan of laat leeg."),
]


@pytest.mark.parametrize(
    ("fields", "input_id", "message"), BAD, ids=[b[1] + str(n) for n, b in enumerate(BAD)]
)
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    server: Staffed,
    planner: aiohttp.ClientSession,
    fields: dict[str, str],
    input_id: str,
    message: str,
) -> None:
    before = await stored(server)
    assert before is not None  # the demo's counter
    status, _, page = await save(planner, server, GOOD | fields)
    assert status == 400
    assert "<title>Fout: " in page
    summary = page.split('<div class="error-summary"')[1].split("</div>")[0]
    assert f'<li><a href="#{input_id}">{message}' in summary
    assert summary.count("<li>") == 1  # only the bad field; the good ones around it are fine
    # the message stands next to the field too, which says it is wrong
    assert (
        f'<span class="visually-hidden">Fout: </span>{message}'
        in page.split('<div class="error-summary"')[1].split("</div>", 1)[1]
    )
    if not input_id.startswith(("feestdagen", "bevrijdingsdag")):
        assert re.search(rf'id="{input_id}"[^>]* aria-invalid="true"', page)
    assert await stored(server) == before
    assert await audited(server) == []


async def test_every_problem_is_named_at_once(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    before = await stored(server)
    form = GOOD | {"dag-0": "12:00-09:00", "dag-6": "x", "gespreksduur": "0"}
    status, _, page = await save(planner, server, form)
    assert status == 400
    assert re.findall(r'<li><a href="#([^"]+)">', page) == ["dag-0", "dag-6", "gespreksduur"]
    # what the planner typed comes back as typed
    assert field_value(page, "dag-0") == "12:00-09:00"
    assert field_value(page, "max-wachtenden") == "12"
    assert await stored(server) == before


# --- the state now, by the application's clock --------------------------------------------


async def test_the_state_now_on_kings_day_outside_hours_and_on_an_exception(
    server: Staffed,
) -> None:
    async def page_at(moment: datetime) -> tuple[str, str]:
        server.clock.now = moment
        async with signed_in(server, "planner") as planner:
            _, page = await get(planner, f"{server.url}{PAGE}/bijstand")
            _, overview = await get(planner, f"{server.url}{PAGE}")
        row = overview.split('<th scope="row">Bijstand (Participatiewet)</th>')[1]
        found = re.search(r'<td class="walkin-state">([^<]+)</td>', row)
        assert found is not None
        return state_now(page), found.group(1)

    # eleven sign-ins (one per moment: the clock jumps past the idle timeout) are more than
    # the sign-in rate limit's burst of real time allows; that limit is not under test here
    server.auth.limiter = LocalLimiter(100, 100)

    async def save_at(moment: datetime, form: dict[str, str]) -> None:
        server.clock.now = moment
        async with signed_in(server, "planner") as planner:
            assert (await save(planner, server, form))[0] == 303

    # the clock only moves forward: a TOTP code once used is not taken again
    await save_at(local(KINGS_DAY - timedelta(days=7), 10), GOOD | {"uitzonderingen": ""})
    # Monday 27 April 2026, 10:00: Koningsdag takes Monday's hours
    holiday = "Nu dicht: het is Koningsdag (feestdag). Weer open op dinsdag 28 april om 09:00."
    assert await page_at(local(KINGS_DAY, 10)) == (holiday, holiday)

    # "closed unless set otherwise": an open exception on Koningsdag opens it
    await save_at(local(KINGS_DAY, 10, 30), GOOD | {"uitzonderingen": "2026-04-27 10:00-13:00"})
    assert (await page_at(local(KINGS_DAY, 11)))[0] == "Nu open, tot 13:00."
    # and with holidays open, Monday's own hours stand on Koningsdag
    await save_at(local(KINGS_DAY, 11, 30), GOOD | {"feestdagen": "open", "uitzonderingen": ""})
    assert (await page_at(local(KINGS_DAY, 14)))[0] == "Nu open, tot 16:00."

    await save_at(local(KINGS_DAY, 16, 30), GOOD | {"uitzonderingen": "2026-04-29 dicht"})
    # the next morning before opening, at lunch, and open
    outside = "Nu dicht: buiten de openingstijden. Weer open op dinsdag 28 april om 09:00."
    assert (await page_at(local(KINGS_DAY + timedelta(days=1), 7)))[0] == outside
    lunch = "Nu dicht: buiten de openingstijden. Weer open op dinsdag 28 april om 13:00."
    assert (await page_at(local(KINGS_DAY + timedelta(days=1), 12, 30)))[0] == lunch
    assert (await page_at(local(KINGS_DAY + timedelta(days=1), 15)))[0] == "Nu open, tot 16:00."
    # Wednesday 29 April is closed by an exception; Thursday opens at 09:00
    closed = (
        "Nu dicht: voor vandaag is een uitzondering ingesteld. "
        "Weer open op donderdag 30 april om 09:00."
    )
    assert (await page_at(local(KINGS_DAY + timedelta(days=2), 10)))[0] == closed


# --- switching off -------------------------------------------------------------------------


async def test_a_counter_is_switched_off_and_on_again(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    token = await csrf_of(planner, f"{server.url}{PAGE}/wmo")
    status, location, _ = await post(planner, f"{server.url}{PAGE}/wmo/uit", {"csrf_token": token})
    assert (status, location) == (303, f"{PAGE}?klaar=inloop-uit")
    assert await server.app[WALKIN].counters.get(TENANT, "wmo") is None
    assert await stored(server, "bijstand") is not None  # the others stay
    assert await audited(server) == [("walkin.counter_remove", "staff:demo-planner", "purpose:wmo")]
    _, overview = await get(planner, f"{server.url}{PAGE}?klaar=inloop-uit")
    assert "De inloopbalie staat uit." in overview
    row = overview.split('<th scope="row">Wmo: hulp en ondersteuning thuis</th>')[1]
    assert row.split("</tr>")[0].count("Geen inloopbalie: alleen op afspraak.") == 1
    _, page = await get(planner, f"{server.url}{PAGE}/wmo")
    assert state_now(page) == "Geen inloopbalie: alleen op afspraak."
    assert "Inloopbalie aanzetten" in page and "/wmo/uit" not in page
    # the defaults of a new counter: closed every day until hours are filled in
    assert field_value(page, "dag-0") == "" and field_value(page, "gespreksduur") == "10"

    assert (await save(planner, server, GOOD, "wmo"))[0] == 303
    counter = await server.app[WALKIN].counters.get(TENANT, "wmo")
    assert counter is not None and counter.hours == SAVED.hours


# --- who may ------------------------------------------------------------------------------


async def test_a_specialist_and_another_tenant_are_refused(server: Staffed) -> None:
    before = await stored(server)
    async with staff_client(server) as specialist:
        await sign_in(specialist, server, "specialist")
        for path in (PAGE, f"{PAGE}/bijstand"):
            status, page = await get(specialist, server.url + path)
            assert status == 403 and "U heeft hier geen toegang" in page, path
        token = await csrf_of(specialist, server.url + "/staff")
        for path in (f"{PAGE}/bijstand", f"{PAGE}/bijstand/uit"):
            status, _, _ = await post(specialist, server.url + path, {"csrf_token": token} | GOOD)
            assert status == 403, path

    async with signed_in(server, "other") as other:
        # the demo tenant's purposes are not the other tenant's: not found
        for path in (f"{PAGE}/bijstand", f"{PAGE}/bijstand/uit"):
            token = await csrf_of(other, server.url + "/staff")
            status, _, _ = await post(other, server.url + path, {"csrf_token": token} | GOOD)
            assert status == 404, path
        status, _ = await get(other, f"{server.url}{PAGE}/bijstand")
        assert status == 404
        status, overview = await get(other, f"{server.url}{PAGE}")
        assert status == 200 and "Bijstand" not in overview
        status, _ = await get(other, f"{server.url}{PAGE}?tenant={TENANT}")
        assert status == 403

    async with staff_client(server) as stranger:
        async with stranger.get(f"{server.url}{PAGE}", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/staff/sign-in")

    assert await stored(server) == before
    assert await server.app[WALKIN].counters.get(TENANT, "bijstand") is not None
    assert await audited(server) == []


async def test_a_post_without_csrf_token_changes_nothing(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    before = await stored(server)
    for path in (f"{PAGE}/bijstand", f"{PAGE}/bijstand/uit"):
        status, _, page = await post(planner, server.url + path, GOOD)
        assert status == 403 and "Dit formulier is verlopen" in page, path
    assert await stored(server) == before
    assert await audited(server) == []


async def test_an_unknown_purpose_is_not_found(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    status, _ = await get(planner, f"{server.url}{PAGE}/bestaat-niet")
    assert status == 404
    status, _, _ = await save(planner, server, GOOD, "bijstand")  # a good one still works
    assert status == 303


async def test_in_english_the_messages_name_the_field_in_english(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    async with planner.post(
        f"{server.url}/taal", data={"taal": "en", "terug": PAGE}, allow_redirects=False
    ) as response:
        assert response.status == 303
    form = GOOD | {"dag-0": "12:00-09:00", "uitzonderingen": "2026-12-24"}
    status, _, page = await save(planner, server, form)
    assert status == 400
    assert '<a href="#dag-0">Monday: 12:00-09:00 ends before it starts.</a>' in page
    assert (
        '<a href="#uitzonderingen">Exceptions, 2026-12-24: after the date, write the hours '
        "(09:00-12:00) or the word dicht (closed).</a>"
    ) in page
    _, overview = await get(planner, f"{server.url}{PAGE}")
    assert "Open now, until 23:59." in overview  # the demo's counters are open all day
