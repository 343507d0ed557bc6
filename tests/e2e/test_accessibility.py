"""axe-core (from npm) on every page and state of the call journey: 0 violations.

The WCAG 2.0/2.1 A and AA rule tags; axe runs inside the page through the
DevTools protocol, so the page's own Content-Security-Policy stays in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from playwright.async_api import Browser, expect

from identity.wallet import TestWallet
from server.config import Config
from server.staff.demo import demo_credentials
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    AXE,
    admit_first_waiting,
    assert_accessible,
    axe_violations,
    click_join,
    open_participant,
    sign_in_staff,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e


def test_axe_comes_from_the_npm_install() -> None:
    assert AXE.is_file(), "run npm ci: axe-core is a devDependency in package.json"
    assert Path(AXE).stat().st_size > 100_000


async def test_every_state_of_the_call_journey_has_no_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room(purpose="bijstand", tenant="demo")
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(specialist)  # waits until the camera check finished
        await assert_accessible(specialist.page, "specialist, alone in the call")
        await assert_accessible(resident.page, "resident, before joining")

        async with resident.page.expect_response(
            lambda r: r.url.endswith("/verification/session")
        ) as caught:
            await click_join(resident)
        started: Any = await (await caught.value).json()
        await resident.page.locator("#yivi-web-form canvas").wait_for(state="visible")
        await assert_accessible(resident.page, "resident, identity step with the QR code")
        async with aiohttp.ClientSession() as http:
            await TestWallet(http).disclose(
                started["sessionPtr"],
                {
                    "irma-demo.gemeente.personalData.bsn": "999999990",
                    "irma-demo.gemeente.personalData.fullname": "Test Persoon",
                },
            )
        await wait_for_phase(resident, "lobby")
        await assert_accessible(resident.page, "resident, in the lobby")
        await expect(specialist.page.locator("#verified-panel")).to_contain_text("Test Persoon")
        await assert_accessible(specialist.page, "specialist, someone waiting, verified panel")

        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        await assert_accessible(resident.page, "resident, in the call")
        await resident.page.get_by_role("button", name="Chat").click()
        await assert_accessible(resident.page, "resident, chat open")

        await specialist.page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
        await assert_accessible(specialist.page, "specialist, end-call dialog")
        await specialist.page.get_by_role("button", name="Ja, beëindigen").click()
        await wait_for_phase(resident, "finished")
        await assert_accessible(resident.page, "resident, call ended")
    finally:
        await resident.close()
        await specialist.close()


async def test_other_pages_have_no_violations(browser: Browser, live_balie: LiveServer) -> None:
    visitor = await open_participant(browser, live_balie.url + "/", name="bezoeker")
    try:
        for path, state in (
            ("/", "home page"),
            ("/bestaat-niet", "404 page"),
            ("/call", "call page without a link (error state)"),
            ("/irma-emulator/wallet", "demo wallet page"),
        ):
            await visitor.page.goto(live_balie.url + path)
            await assert_accessible(visitor.page, state)
    finally:
        await visitor.close()


async def test_the_check_can_fail(browser: Browser) -> None:
    """The same check on a page with known faults finds them."""
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.set_content(
            '<html><body><img src="x.png"><button></button><input type="text"></body></html>'
        )
        found = {v["id"] for v in await axe_violations(page)}
        assert {"image-alt", "button-name", "label", "html-has-lang"} <= found, found
    finally:
        await context.close()


async def test_staff_sign_in_pages_have_no_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    credentials = demo_credentials(live_balie.config)["specialist"]
    staff = await open_participant(browser, live_balie.url + "/staff/sign-in", name="medewerker")
    try:
        page = staff.page
        await assert_accessible(page, "staff sign-in")
        await page.get_by_label("Gebruikersnaam").fill(credentials.login)
        await page.get_by_label("Wachtwoord").fill("wrong password")
        await page.get_by_role("button", name="Verder").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "staff sign-in with an error summary")
        await page.get_by_label("Wachtwoord").fill(credentials.password)
        await page.get_by_role("button", name="Verder").click()
        await page.wait_for_url("**/staff/sign-in/code")
        await assert_accessible(page, "staff sign-in, code step")
        await page.get_by_label("Code van 6 cijfers").fill(
            pyotp.TOTP(credentials.totp_secret).now()
        )
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_url("**/staff")
        await assert_accessible(page, "staff landing page")
    finally:
        await staff.close()


async def test_specialist_desk_has_no_violations(browser: Browser, live_balie: LiveServer) -> None:
    import secrets
    import uuid
    from datetime import UTC, datetime, timedelta
    from datetime import time as wall

    from sqlalchemy import insert, update

    from server.booking.intervals import wall_to_instant
    from server.booking.join_links import new_room_id
    from server.core.clock import AMSTERDAM
    from server.db import writer
    from server.db.appkeys import ENGINE
    from server.db.schema import appointments

    async def add(start: datetime, state: str) -> str:
        end = start + timedelta(minutes=30)
        values = {
            "id": str(uuid.uuid4()),
            "tenant_id": "demo",
            "reference": "A" + secrets.token_hex(3).upper(),
            "purpose_key": "bijstand",
            "staff_id": "demo-anna",
            "state": state,
            "starts_at": start,
            "ends_at": end,
            "buffered_start": start,
            "buffered_end": end,
            "room_id": new_room_id(),
            "version": 1,
            "created_at": start,
            "updated_at": start,
        }
        async with writer(live_balie.app[ENGINE]).begin() as conn:
            await conn.execute(insert(appointments).values(values))
        return str(values["id"])

    staff = await open_participant(browser, live_balie.url + "/staff/sign-in", name="medewerker")
    try:
        page = staff.page
        await sign_in_staff(page, live_balie.config, "specialist")
        await page.get_by_role("link", name="Naar mijn gesprekken van vandaag").click()
        await page.wait_for_url("**/staff/desk")
        await expect(page.locator("main")).to_contain_text("geen gesprekken")
        await assert_accessible(page, "specialist desk, no appointments")

        now = datetime.now(UTC)
        midnight = wall_to_instant(now.astimezone(AMSTERDAM).date(), wall(0), AMSTERDAM)
        start = max(now - timedelta(minutes=5), midnight + timedelta(minutes=1))
        await add(start, "booked")
        await add(start + timedelta(minutes=40), "in_call")
        await add(start, "cancelled")
        tomorrow = await add(start + timedelta(days=1), "booked")
        await page.get_by_role("link", name="Lijst vernieuwen").click()
        await expect(page.locator(".desk-item")).to_have_count(4)
        await assert_accessible(page, "specialist desk with appointments")

        await page.get_by_role("button", name="Niet gekomen").first.click()
        await page.wait_for_url("**/staff/desk?vastgelegd=1")
        await expect(page.locator(".notice")).to_contain_text("vastgelegd")
        await assert_accessible(page, "specialist desk, outcome recorded")

        # desk.js keeps the states current without a reload
        async with writer(live_balie.app[ENGINE]).begin() as conn:
            await conn.execute(
                update(appointments)
                .where(appointments.c.id == tomorrow)
                .values(state="cancelled", version=2)
            )
        badge = page.locator(f'[data-appointment="{tomorrow}"] .desk-state')
        await expect(badge).to_have_text("Geannuleerd", timeout=30_000)
        # no script errors or CSP refusals (a 404 for the favicon is no problem)
        assert [p for p in staff.problems if "404" not in p] == [], staff.describe()
    finally:
        await staff.close()


async def test_planner_console_has_no_violations(browser: Browser, live_balie: LiveServer) -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from server.core.clock import AMSTERDAM
    from server.db import writer
    from server.db.appkeys import ENGINE
    from server.db.schema import appointments, feedback

    # a finished call and a score yesterday, so the dashboard draws bars
    yesterday = datetime.now(UTC) - timedelta(days=1)
    async with writer(live_balie.app[ENGINE]).begin() as conn:
        await conn.execute(
            insert(appointments).values(
                id=str(uuid.uuid4()),
                tenant_id="demo",
                reference="PLANA11Y",
                purpose_key="bijstand",
                staff_id="demo-anna",
                state="completed",
                starts_at=yesterday,
                ends_at=yesterday + timedelta(minutes=30),
                buffered_start=yesterday,
                buffered_end=yesterday + timedelta(minutes=30),
                version=4,
                created_at=yesterday,
                updated_at=yesterday,
            )
        )
        await conn.execute(
            insert(feedback).values(tenant_id="demo", purpose_key="bijstand", score=4, at=yesterday)
        )
    day = datetime.now(AMSTERDAM).date() + timedelta(days=2)
    tuesday = day + timedelta(days=(1 - day.weekday()) % 7)

    staff = await open_participant(browser, live_balie.url + "/staff/sign-in", name="planner")
    try:
        page = staff.page
        await sign_in_staff(page, live_balie.config, "planner")
        await page.get_by_role("link", name="Naar de planning").click()
        await page.wait_for_url("**/staff/planner")
        await expect(page.locator("table.week")).to_be_visible()
        await assert_accessible(page, "planner week view")

        await page.get_by_role("link", name="Anna (demo)").click()
        await page.wait_for_url("**/staff/planner/staff/demo-anna")
        await assert_accessible(page, "planner staff hours and exceptions")
        await page.locator("#h-0-0-start").fill("25:00")
        await page.get_by_role("button", name="Werktijden opslaan").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "planner hours form with an error summary")

        await page.goto(f"{live_balie.url}/staff/planner/book?purpose=bijstand&date={tuesday}")
        await assert_accessible(page, "planner booking, times")
        await page.locator("#time-0").check()
        await page.get_by_role("button", name="Afspraak maken").click()
        await page.wait_for_url("**/staff/planner/appointments/**")
        await expect(page.locator(".notice")).to_contain_text("geboekt")
        await assert_accessible(page, "planner appointment page")

        await page.get_by_role("link", name="Cijfers").click()
        await page.wait_for_url("**/staff/planner/dashboard")
        await expect(page.locator("svg[role=img]")).to_have_count(3)
        await assert_accessible(page, "planner dashboard with charts")
    finally:
        await staff.close()


async def test_resident_booking_manage_and_feedback_pages_have_no_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    """Every page and error state of the booking journey, the manage pages and feedback."""
    base = live_balie.url + "/afspraak/demo"
    resident = await open_participant(browser, base, name="inwoner")
    page = resident.page
    try:
        await assert_accessible(page, "booking: landing page")
        await page.get_by_role("link", name="Burgerzaken", exact=False).first.click()
        await assert_accessible(page, "booking: dates")
        await page.locator("a.date-link").first.click()
        await assert_accessible(page, "booking: times")
        await page.get_by_role("button", name="Deze tijd kiezen").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "booking: times, nothing chosen (error summary)")
        await page.locator("input[name=start]").first.check()
        await page.get_by_role("button", name="Deze tijd kiezen").click()
        await assert_accessible(page, "booking: contact details")
        await page.get_by_label("E-mailadres (niet verplicht)").fill("geen adres")
        await page.get_by_role("button", name="Afspraak bevestigen").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "booking: contact details with an error")
        await page.get_by_label("E-mailadres (niet verplicht)").fill("")
        await page.get_by_role("button", name="Afspraak bevestigen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
        await assert_accessible(page, "booking: confirmation")

        manage = await page.get_by_role("link", name="Afspraak wijzigen of afzeggen").get_attribute(
            "href"
        )
        assert manage is not None
        await page.goto(manage.split("#")[0])
        await assert_accessible(page, "manage: open without a token")
        await page.get_by_label("De link uit uw bevestiging").fill("klopt niet")
        await page.get_by_role("button", name="Afspraak openen").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "manage: a wrong link")
        await page.goto(manage)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak")
        await assert_accessible(page, "manage: the appointment")
        await page.get_by_role("link", name="Afspraak verzetten naar een andere tijd").click()
        await assert_accessible(page, "manage: reschedule, dates")
        await page.locator("a.date-link").first.click()
        await assert_accessible(page, "manage: reschedule, times")
        await page.go_back()
        await page.go_back()
        await page.get_by_role("link", name="Afspraak afzeggen").click()
        await assert_accessible(page, "manage: cancel, are you sure")
        await page.get_by_role("button", name="Ja, afspraak afzeggen").click()
        await expect(page.get_by_role("status")).to_contain_text("afgezegd")
        await assert_accessible(page, "manage: cancelled")
        await page.goto(base + "/kies/bestaat-niet")
        await assert_accessible(page, "booking: error page (unknown purpose)")

        room = live_balie.issue_room(purpose="burgerzaken", tenant="demo")
        token = room.seat(Role.RESIDENT).token
        await page.goto(f"{live_balie.url}/feedback/{room.room}")
        await assert_accessible(page, "feedback: how to reach it")
        # what the call page's finished state does: post the token from memory
        await page.evaluate(
            """(token) => {
              const form = document.createElement('form');
              form.method = 'post';
              form.action = window.location.pathname;
              const field = document.createElement('input');
              field.type = 'hidden'; field.name = 'room_token'; field.value = token;
              form.append(field); document.body.append(form); form.submit();
            }""",
            token,
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Wat vond u van het gesprek?"
        )
        await assert_accessible(page, "feedback: the question")
        await page.get_by_role("button", name="Versturen").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "feedback: no score chosen")
        await page.get_by_label("4 – Tevreden").check()
        await page.get_by_role("button", name="Versturen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Bedankt voor uw mening")
        await assert_accessible(page, "feedback: thanks")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_staff_session_timeout_warning_has_no_violations(
    browser: Browser, tmp_path: Path
) -> None:
    """The warning before a staff session ends (staff.js), with the shortest idle limit the
    configuration allows (1 minute): it is within the warning time from the first poll."""
    from server.config import StaffSettings
    from tests.support import config_for, live_server

    config = config_for(tmp_path, staff=StaffSettings(idle_minutes=1))
    async with live_server(tmp_path, config=config):
        await _session_warning(browser, config)


async def _session_warning(browser: Browser, config: Config) -> None:
    staff = await open_participant(browser, config.public_url + "/staff/sign-in", name="medewerker")
    try:
        page = staff.page
        await sign_in_staff(page, config, "specialist")
        for state in ("staff landing page", "specialist desk"):
            if state == "specialist desk":
                await page.get_by_role("link", name="Naar mijn gesprekken van vandaag").click()
                await page.wait_for_url("**/staff/desk")
            warning = page.get_by_role("alertdialog", name="U wordt bijna uitgelogd")
            await expect(warning).to_be_visible()
            await expect(warning).to_contain_text(
                "uitgelogd, omdat u een tijdje niets heeft gedaan"
            )
            await expect(warning).to_be_focused()
            await expect(warning.get_by_role("button", name="Ingelogd blijven")).to_be_visible()
            await assert_accessible(page, f"{state}, session timeout warning")
        staff.assert_no_page_errors()
    finally:
        await staff.close()


async def test_english_pages_have_no_violations(browser: Browser, live_balie: LiveServer) -> None:
    """The switch, then resident and staff pages in English: same rules, ``lang="en"``."""
    credentials = demo_credentials(live_balie.config)["planner"]
    visitor = await open_participant(browser, live_balie.url + "/", name="visitor")
    try:
        page = visitor.page
        await page.get_by_role("button", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await assert_accessible(page, "home page in English")
        await page.goto(live_balie.url + "/afspraak/demo")
        await assert_accessible(page, "booking landing in English")
        await page.locator("a[href*='/kies/']").first.click()
        await assert_accessible(page, "dates in English")
        await page.locator("a.date-link").first.click()
        await assert_accessible(page, "times in English")
        await page.goto(live_balie.url + "/bestaat-niet")
        await assert_accessible(page, "404 page in English")

        await page.goto(live_balie.url + "/staff/sign-in")
        await page.get_by_label("User name").fill(credentials.login)
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        await assert_accessible(page, "staff sign-in in English, with an error summary")
        await page.get_by_label("Password").fill(credentials.password)
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url("**/staff/sign-in/code")
        await page.get_by_label("6-digit code").fill(pyotp.TOTP(credentials.totp_secret).now())
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/staff")
        await assert_accessible(page, "staff landing page in English")
        await page.get_by_role("link", name="To the planning").click()
        await page.wait_for_url("**/staff/planner")
        await assert_accessible(page, "planner week view in English")
        await page.get_by_role("link", name="Figures").click()
        await page.wait_for_url("**/staff/planner/dashboard")
        await assert_accessible(page, "planner dashboard in English")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        visitor.assert_no_page_errors()
    finally:
        await visitor.close()
