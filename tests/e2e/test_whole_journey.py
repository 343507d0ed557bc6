"""The whole journey in Chromium on one live server with the demo data: a resident books on
the resident pages, checks the device, shows who they are (emulator + test wallet) and waits;
the specialist signs in (password + TOTP), opens the call from the desk, sees the verified
values, admits; media flows both ways; the specialist ends the call and records the outcome;
the resident gives a score; the planner's dashboard (table and CSV) counts the call and the
score. No page may throw or break the Content-Security-Policy on the way.

**Time.** Nothing is faked: every clock in the server is the real one. A call can be joined
from 15 minutes before its start, and the desk opens today's appointments only, so the
resident must be able to book a time that is about now. The demo purposes cannot give that
(hours on weekdays only, 1 to 24 hours' notice, and the demo specialist Anna does only
bijstand and Wmo). So the test arranges its tenant data the way a planner could: a purpose
without notice for Anna's skill (:data:`PURPOSE`), and extra hours for Anna all of today
(an ``extra`` availability exception). Production rules stay as they are; the slot engine
then offers the five-minute steps after now, and the test takes the first one at least
:data:`LEAD` away, so that the time has not passed by the time the resident confirms it.
Close to midnight (Amsterdam time) no such time is left today: the test then waits for the
new day (at most :data:`LEAD` plus ten minutes, in under 1 % of runs) rather than fail.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from typing import Any, Final

import aiohttp
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import insert

from identity.wallet import TestWallet
from server.core.clock import AMSTERDAM
from server.core.date_words import short_day_words
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import availability_exceptions, purposes
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    admit_first_waiting,
    click_join,
    open_participant,
    sign_in_staff,
    wait_for_phase,
    wait_for_video_flowing,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

TENANT: Final = "demo"
SPECIALIST_STAFF_ID: Final = "demo-anna"  # the demo specialist account's staff member
#: a purpose of Anna's skill that can be booked for now (see the module docstring)
PURPOSE: Final[dict[str, Any]] = {
    "tenant_id": TENANT,
    "key": "spreekuur",
    "name": "Spreekuur bijstand vandaag (test)",
    "skill": "participatiewet",
    "duration_minutes": 5,
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "min_notice_minutes": 0,
    "horizon_days": 7,
    "slot_interval_minutes": 5,
    "daily_cap": None,
    "retention_days": None,
    "disclosure": ["bsn", "full_name"],
    "active": True,
}
#: the last start that fits in today's extra hours (00:00-23:59) with a 5-minute call
LAST_START_TODAY: Final = wall(23, 50)
#: the least time between now and the start the resident picks: room to confirm it
LEAD: Final = timedelta(minutes=2)

FAKE_BSN: Final = "999999990"
FAKE_NAME: Final = "Test Persoon Hele Reis"
VALUES: Final = {
    "irma-demo.gemeente.personalData.bsn": FAKE_BSN,
    "irma-demo.gemeente.personalData.fullname": FAKE_NAME,
}
SCORE: Final = 4


async def wait_for_a_time_left_today() -> None:
    """Past the last start that leaves :data:`LEAD`, sleep into the new day."""
    now = datetime.now(AMSTERDAM)
    last = datetime.combine(now.date(), LAST_START_TODAY, AMSTERDAM) - LEAD
    if now > last:
        midnight = datetime.combine(now.date() + timedelta(days=1), wall(0), AMSTERDAM)
        await asyncio.sleep((midnight - now).total_seconds() + 1)


async def open_today_for_the_specialist(server: LiveServer) -> None:
    """Tenant data, as a planner could set it: a purpose without notice and extra hours for
    Anna all of today."""
    await wait_for_a_time_left_today()
    today = datetime.now(AMSTERDAM).date()
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(insert(purposes).values(PURPOSE))
        await conn.execute(
            insert(availability_exceptions).values(
                tenant_id=TENANT,
                staff_id=SPECIALIST_STAFF_ID,
                day=today,
                kind="extra",
                start_time=wall(0),
                end_time=wall(23, 59),
                reason="extra spreekuur",
            )
        )


async def book_now(resident: Participant) -> str:
    """Book the earliest time of today at least :data:`LEAD` away; the chosen start (ISO)."""
    page = resident.page
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Afspraak maken")
    await page.get_by_role("link", name=PURPOSE["name"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een dag")
    await page.locator("a.date-link").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een tijd")
    assert page.url.endswith("/" + datetime.now(AMSTERDAM).date().isoformat()), (
        f"the first day offered is not today ({page.url}): is it after "
        f"{LAST_START_TODAY:%H:%M} in Amsterdam? Then there is no time left today."
    )
    soonest = datetime.now(UTC) + LEAD
    options = page.locator("input[name=start]")
    starts = [await option.get_attribute("value") or "" for option in await options.all()]
    start = next(s for s in starts if datetime.fromisoformat(s) >= soonest)
    await page.locator(f'input[name=start][value="{start}"]').check()
    await page.get_by_role("button", name="Deze tijd kiezen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bevestig uw afspraak")
    # contact details are optional: skip them
    await page.get_by_role("button", name="Afspraak bevestigen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
    return start


@pytest.mark.timeout(300 + 15 * 60)  # room for wait_for_a_time_left_today
async def test_the_whole_journey_from_booking_to_the_dashboard(
    browser: Browser, live_balie: LiveServer
) -> None:
    await open_today_for_the_specialist(live_balie)
    base = live_balie.url
    resident = await open_participant(browser, f"{base}/afspraak/{TENANT}", name="inwoner")
    staff = await open_participant(browser, f"{base}/staff/sign-in", name="medewerker")
    planner: Participant | None = None
    try:
        # --- the resident books and follows the join link ------------------------------------
        start = await book_now(resident)
        starts_at = datetime.fromisoformat(start)
        assert starts_at - datetime.now(UTC) <= timedelta(minutes=15), (
            f"booked {start}, not joinable yet"
        )
        resident.assert_no_page_errors()
        await resident.page.get_by_role("link", name="Naar het gesprek").click()
        await resident.page.wait_for_url(re.compile(r"/call/r_"))
        room = resident.page.url.split("/call/")[1].split("#")[0]
        await wait_for_phase(resident, "prejoin")

        # the device check: the connection verdict appears
        await resident.page.wait_for_function(
            "() => window.balie.connectionVerdict !== null", timeout=DEADLINE_MS
        )
        await expect(resident.page.locator("#check-network")).not_to_have_text(
            "We testen uw verbinding…"
        )

        # the identity step: the page's session pointer, answered by the test wallet
        async with resident.page.expect_response(
            lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
        ) as caught:
            await click_join(resident)
        started: Any = await (await caught.value).json()
        await expect(resident.page.locator("#verify")).to_be_visible()
        await resident.page.locator("#yivi-web-form canvas").wait_for(state="visible")
        async with aiohttp.ClientSession() as http:
            await TestWallet(http).disclose(started["sessionPtr"], VALUES)
        await wait_for_phase(resident, "lobby")
        resident.assert_no_page_errors()

        # --- the specialist: sign-in, the desk, the call -------------------------------------
        await sign_in_staff(staff.page, live_balie.config, "specialist")
        await staff.page.get_by_role("link", name="Naar mijn gesprekken van vandaag").click()
        await staff.page.wait_for_url("**/staff/desk")
        item = staff.page.locator(".desk-item", has_text=PURPOSE["name"])
        await expect(item).to_have_count(1)
        await expect(item.locator(".desk-state")).to_have_text(
            "Wacht in de wachtkamer, identiteit gecontroleerd"
        )
        staff.assert_no_page_errors()
        await item.get_by_role("button", name=re.compile(r"^Naar het gesprek")).click()
        await staff.page.wait_for_url(re.compile(rf"/call/{re.escape(room)}"))
        await click_join(staff)
        await wait_for_phase(staff, "call")
        panel = staff.page.locator("#verified-panel")
        await expect(panel).to_contain_text(FAKE_NAME, timeout=DEADLINE_MS)
        assert FAKE_BSN not in await panel.inner_text()  # masked until revealed
        await admit_first_waiting(staff)
        await wait_for_phase(resident, "call")

        # --- media both ways ---------------------------------------------------------------
        await wait_for_video_flowing(staff, peers=1)
        await wait_for_video_flowing(resident, peers=1)
        staff.assert_no_page_errors()
        resident.assert_no_page_errors()

        # --- the end, the outcome ----------------------------------------------------------
        await staff.page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
        await staff.page.get_by_role("button", name="Ja, beëindigen").click()
        await wait_for_phase(staff, "finished")
        await wait_for_phase(resident, "finished")
        staff.assert_no_page_errors()

        await staff.page.goto(f"{base}/staff/desk")
        item = staff.page.locator(".desk-item", has_text=PURPOSE["name"])
        await expect(item.locator(".desk-state")).to_have_text(
            "Gesprek afgelopen: leg de uitkomst vast"
        )
        await item.get_by_role("button", name="Afgerond", exact=True).click()
        await staff.page.wait_for_url("**/staff/desk?vastgelegd=1")
        await expect(staff.page.locator(".notice")).to_contain_text("vastgelegd")
        await expect(item.locator(".desk-state")).to_have_text("Afgerond")
        staff.assert_no_page_errors()

        # --- the resident's feedback --------------------------------------------------------
        await resident.page.get_by_role("button", name="Geef uw mening").click()
        await expect(resident.page.get_by_role("heading", level=1)).to_have_text(
            "Wat vond u van het gesprek?"
        )
        await resident.page.locator(f"#score-{SCORE}").check()
        await resident.page.get_by_role("button", name="Versturen").click()
        await expect(resident.page.get_by_role("heading", level=1)).to_have_text(
            "Bedankt voor uw mening"
        )
        resident.assert_no_page_errors()

        # --- the planner's numbers ----------------------------------------------------------
        planner = await open_participant(browser, f"{base}/staff/sign-in", name="planner")
        await sign_in_staff(planner.page, live_balie.config, "planner")
        page = planner.page
        await page.get_by_role("link", name=re.compile(r"^Naar de planning")).click()
        await page.wait_for_url("**/staff/planner")
        await page.get_by_role("link", name="Cijfers").click()
        await page.wait_for_url("**/staff/planner/dashboard")
        await expect(page.locator("main")).to_contain_text("In deze periode: 1 gesprekken")
        day_rows = page.locator("table.numbers", has_text="Per dag").locator("tbody tr")
        counted = [
            (await row.locator("th").inner_text(), await row.locator("td").first.inner_text())
            for row in await day_rows.all()
        ]
        # the call's day: today, or yesterday when the test ran into midnight
        call_day = starts_at.astimezone(AMSTERDAM).date()
        day_label = f"{short_day_words(call_day)} {call_day.year}"
        assert [c for c in counted if c[1] != "0"] == [(day_label, "1")], counted
        week = f"{starts_at.astimezone(AMSTERDAM):%G-W%V}"
        scores = page.locator("table.numbers", has_text="Gemiddeld cijfer").locator("tbody tr")
        await expect(scores).to_have_count(1)
        await expect(scores.first.locator("th")).to_have_text(week)
        await expect(scores.first.locator("td")).to_have_text([PURPOSE["name"], str(SCORE), "1"])

        link = page.get_by_role("link", name="Download deze cijfers als CSV-bestand")
        href = await link.get_attribute("href")
        assert href is not None
        response = await page.request.get(base + href)
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        today = starts_at.astimezone(AMSTERDAM).date().isoformat()
        calls = {r["period"]: r["value"] for r in rows if r["metric"] == "calls"}
        assert calls[today] == "1" and sum(int(v) for v in calls.values()) == 1, calls
        satisfaction = [r for r in rows if r["metric"] == "satisfaction_avg"]
        found = [(r["period"], r["purpose"], float(r["value"]), r["count"]) for r in satisfaction]
        assert found == [(week, PURPOSE["key"], float(SCORE), "1")], satisfaction
        planner.assert_no_page_errors()
    finally:
        for participant in (resident, staff, planner):
            if participant is not None:
                await participant.close()
