"""The planner's walk-in counter pages in headless Chromium: reached, filled in, corrected and
saved with the keyboard alone, and axe-core (WCAG 2.0/2.1 A and AA) finds nothing on the
overview, the form, the form with errors, the saved form, and the dashboard with walk-in
figures, on a phone and on a desktop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from server.walkin.appkeys import WALKIN
from server.walkin.hours import LiberationDay
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    accessible_at_both_sizes,
    focused,
    open_participant,
    sign_in_staff,
    tab_to,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e


async def test_the_walkin_pages_work_by_keyboard_and_have_no_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    staff = await open_participant(browser, live_balie.url + "/staff/sign-in", name="planner")
    try:
        page = staff.page
        await sign_in_staff(page, live_balie.config, "planner")
        await page.goto(f"{live_balie.url}/staff/planner")

        # the navigation leads there by keyboard
        await tab_to(page, r"^a\|\|\|Inloopbalies$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/inloop")
        await expect(page.locator("table.walkin-overview")).to_be_visible()
        await accessible_at_both_sizes(page, "walk-in overview")

        await tab_to(page, r"^a\|\|\|Wijzigen: Bijstand \(Participatiewet\)$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/inloop/bijstand")
        await accessible_at_both_sizes(page, "walk-in counter form")

        # Monday's hours typed wrong, sent with Enter from the field
        await tab_to(page, r"^input\|text\|dag-0\|Maandag$")
        await page.keyboard.press("ControlOrMeta+A")
        await page.keyboard.type("12:00-09:00")
        await page.keyboard.press("Enter")
        summary = page.locator(".error-summary")
        await expect(summary).to_contain_text("Maandag: 12:00-09:00 eindigt vóór het begint.")
        await expect(page.locator("#dag-0")).to_have_attribute("aria-invalid", "true")
        await accessible_at_both_sizes(page, "walk-in counter form with an error")

        # the summary's link leads to the field; corrected and saved, all by keyboard
        await page.locator("#error-summary-title").focus()
        await tab_to(page, r"^a\|\|\|Maandag: 12:00-09:00")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{live_balie.url}/staff/planner/inloop/bijstand#dag-0")
        await tab_to(page, r"^input\|text\|dag-0\|Maandag$")
        await page.keyboard.press("ControlOrMeta+A")
        await page.keyboard.type("09:00-12:00, 13:00-16:00")
        # a radio group is one Tab stop; the arrow keys choose within it
        await tab_to(page, r"^input\|radio\|bevrijdingsdag-every-year\|")
        await page.keyboard.press("ArrowDown")
        assert "bevrijdingsdag-lustrum" in await focused(page)
        await tab_to(page, r"^button\|submit\|\|Inloopbalie opslaan$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/inloop/bijstand?klaar=inloop")
        await expect(page.locator(".notice")).to_contain_text("De inloopbalie is opgeslagen.")
        await accessible_at_both_sizes(page, "walk-in counter form, saved")

        counter = await live_balie.app[WALKIN].counters.get("demo", "bijstand")
        assert counter is not None
        assert [f"{a:%H:%M}-{b:%H:%M}" for a, b in counter.hours.weekly[0]] == [
            "09:00-12:00",
            "13:00-16:00",
        ]
        assert counter.hours.holidays.liberation_day is LiberationDay.LUSTRUM

        # the dashboard with walk-in figures: one resident served by video, one waiting
        queue = live_balie.app[WALKIN].queue
        now = live_balie.clock() - timedelta(hours=1)
        served = await queue.join("demo", "bijstand", "video", now)
        await queue.take_next("demo", "demo-anna", ["bijstand"], now + timedelta(minutes=4))
        await queue.finish("demo", served.id, "demo-anna", now + timedelta(minutes=16))
        await queue.join("demo", "wmo", "chat", now + timedelta(minutes=5))
        await tab_to(page, r"^a\|\|\|Cijfers$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/dashboard")
        table = page.locator("table.walkin-figures")
        await expect(table).to_be_visible()
        await expect(table.locator("tbody tr")).to_have_count(3)  # two rows and the total
        # the table scrolls on a narrow screen, so it takes focus by keyboard
        await tab_to(page, r"^div\|\|\|.*Inwoners zonder afspraak per onderwerp")
        await accessible_at_both_sizes(page, "planner dashboard with walk-in figures")
    finally:
        await staff.close()
