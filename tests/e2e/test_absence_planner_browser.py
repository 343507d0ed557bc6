"""A planner marks a specialist absent over booked appointments, in headless Chromium with
the keyboard alone: the absence is not saved but the appointments are listed; a colleague
taken meanwhile is refused, one appointment goes to a free colleague, the others' residents
get a message, and then the absence is saved. axe-core (WCAG 2.0/2.1 A and AA) finds nothing
on the list, the list with an error, after a handover, or on the saved page, on a phone and
on a desktop."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from playwright.async_api import Browser, expect

from server.booking.appkeys import BOOKING
from server.booking.appointment import AppointmentState
from server.core.clock import AMSTERDAM
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


def _next_monday() -> date:
    day = datetime.now(AMSTERDAM).date() + timedelta(days=2)
    return day + timedelta(days=(0 - day.weekday()) % 7)


async def test_an_absence_over_bookings_is_handled_by_keyboard_without_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    monday = _next_monday()
    service = live_balie.app[BOOKING]
    booked = []
    for hour in (9, 11, 14):
        start = datetime.combine(monday, time(hour), tzinfo=AMSTERDAM)
        held = await service.hold("demo", "wmo", start, staff_id="demo-anna")
        booked.append(await service.confirm("demo", held.id, held.version, room_id=f"r{hour}"))
    first, second, third = booked

    staff = await open_participant(browser, live_balie.url + "/staff/sign-in", name="planner")
    try:
        page = staff.page
        await sign_in_staff(page, live_balie.config, "planner")
        await page.goto(f"{live_balie.url}/staff/planner/staff/demo-anna")

        # the exception form, filled in and sent by keyboard: Anna is away all Monday
        await tab_to(page, r"^button\|submit\|\|Werktijden opslaan$")
        await tab_to(page, r"^input\|(text|date)\|first_day\|")
        # a date input's segments follow the browser's locale; fill() sets the ISO value the
        # typed date would give, on the field the keyboard reached (the list is the subject)
        await page.locator("#first_day").fill(monday.isoformat())
        await tab_to(page, r"^select\|\|reason\|")
        await page.keyboard.press("ArrowDown")  # Vrij of vakantie -> Afwezig
        assert await page.locator("#reason").input_value() == "afwezig"
        await tab_to(page, r"^button\|submit\|\|Uitzondering opslaan$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/staff/demo-anna/afwezigheid?**")
        table = page.locator("table.absence-list")
        await expect(table.locator("tbody tr")).to_have_count(3)
        await expect(page.locator("#not-saved")).to_contain_text("nog niet opgeslagen")
        await accessible_at_both_sizes(page, "absence list")

        # meanwhile a resident books Bram at two: handing him the two o'clock is refused
        taken = datetime.combine(monday, time(14), tzinfo=AMSTERDAM)
        held = await service.hold("demo", "wmo", taken, staff_id="demo-bram")
        await service.confirm("demo", held.id, held.version)
        await tab_to(page, rf"^select\|\|colleague-{third.id}\|")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        summary = page.locator(".error-summary")
        await expect(summary).to_contain_text("Bram (demo) is op dat moment niet vrij.")
        await expect(table.locator("tbody tr")).to_have_count(3)
        await accessible_at_both_sizes(page, "absence list with an error")

        # the first appointment to Bram, the only free colleague with the skill
        await tab_to(page, rf"^select\|\|colleague-{first.id}\|")
        assert await page.locator(f"#colleague-{first.id}").input_value() == "demo-bram"
        await page.keyboard.press("Tab")
        assert (await focused(page)).startswith("button|submit||Geven")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**klaar=overgedragen**")
        status = page.locator(".notice[role=status]")
        await expect(status).to_contain_text("De afspraak is overgedragen aan een collega.")
        await expect(table.locator("tbody tr")).to_have_count(2)
        await accessible_at_both_sizes(page, "absence list after a handover")

        # the others: their residents get a message; with nothing left, the absence is saved
        await tab_to(page, rf"^button\|submit\|\|Bericht sturen.*{third.reference}")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**klaar=bericht**")
        await expect(status).to_contain_text("De inwoner krijgt een bericht")
        await tab_to(page, rf"^button\|submit\|\|Bericht sturen.*{second.reference}")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/staff/demo-anna?klaar=uitzondering")
        await expect(status).to_contain_text("De uitzondering is opgeslagen.")
        await accessible_at_both_sizes(page, "staff page, absence saved")
    finally:
        await staff.close()

    assert (await service.get("demo", first.id)).state is AppointmentState.CANCELLED
    assert (await service.get("demo", second.id)).state is AppointmentState.CANCELLED
    assert (await service.get("demo", third.id)).state is AppointmentState.CANCELLED
    monday_list = await service.appointments_between(
        "demo",
        datetime.combine(monday, time(0), tzinfo=AMSTERDAM),
        datetime.combine(monday + timedelta(days=1), time(0), tzinfo=AMSTERDAM),
    )
    active = [(a.staff_id, a.rescheduled_from) for a in monday_list if a.active]
    assert active == [("demo-bram", first.id), ("demo-bram", None)]
