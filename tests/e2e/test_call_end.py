"""After "Gesprek beëindigen", in Chromium against a real Balie server: the specialist is
offered the outcome (a link to the appointment's outcome form) and the way back to the desk;
the resident reads what happens next (the outcome is recorded, they will hear if something
follows, how to reach the municipality with their appointment number) and can give
feedback. The outcome form takes the specialist back to the desk. Keyboard only on both end
screens and the form; axe at phone and desktop size on each.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e import browser as e2e_browser
from tests.e2e.appointments import (
    add_appointment,
    due_now,
    join_and_show_identity,
    resident_link,
    specialist_link,
)
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    admit_first_waiting,
    click_join,
    focused,
    open_participant,
    sign_in_staff,
    tab_to,
    wait_for_phase,
    wait_for_video_flowing,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e


async def test_after_the_call_both_sides_know_what_comes_next(
    browser: Browser, live_balie: LiveServer
) -> None:
    appointment = await add_appointment(live_balie, due_now())
    outcome_path = f"/staff/desk/appointments/{appointment.id}/outcome"
    # the specialist is signed in (the outcome form is a staff page), then opens the call
    specialist = await open_participant(
        browser, live_balie.url + "/staff/sign-in", name="medewerker"
    )
    resident = await open_participant(
        browser, resident_link(live_balie, appointment), name="inwoner"
    )
    try:
        s_page, r_page = specialist.page, resident.page
        await sign_in_staff(s_page, live_balie.config, "specialist")
        await s_page.goto(specialist_link(live_balie, appointment))
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        await join_and_show_identity(resident)
        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        await wait_for_video_flowing(specialist, peers=1)

        await s_page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
        await s_page.get_by_role("button", name="Ja, beëindigen").click()
        await wait_for_phase(specialist, "finished")
        await wait_for_phase(resident, "finished")

        # --- the specialist: the outcome, or back to the desk ------------------------------
        staff_next = s_page.locator("#finished-staff")
        await expect(staff_next).to_be_visible()
        outcome = s_page.get_by_role("link", name="Uitkomst van het gesprek vastleggen")
        await expect(outcome).to_have_attribute("href", outcome_path)
        await expect(s_page.get_by_role("link", name="Naar mijn gesprekken")).to_have_attribute(
            "href", "/staff/desk"
        )
        await expect(s_page.locator("#feedback-form")).to_be_hidden()
        await expect(s_page.locator("#finished-next")).to_be_hidden()
        await accessible_at_both_sizes(s_page, "specialist, after ending the call")
        assert re.search(r"^h2\|\|finished-title\|", await focused(s_page))
        await tab_to(s_page, r"^a\|\|finished-outcome-link\|Uitkomst van het gesprek vastleggen")
        await s_page.keyboard.press("Tab")
        assert re.search(r"^a\|\|finished-desk-link\|", await focused(s_page))

        # --- the resident: what happens now, who to call, feedback -------------------------
        await expect(r_page.locator("#finished-text")).to_have_text(
            "De medewerker heeft het gesprek beëindigd."
        )
        next_steps = r_page.get_by_role("region", name="Wat gebeurt er nu?")
        await expect(next_steps).to_contain_text("De medewerker schrijft op wat de uitkomst")
        await expect(next_steps).to_contain_text("Dan hoort u dat van de gemeente.")
        await expect(r_page.locator("#finished-questions")).to_contain_text(
            f"Bel dan de gemeente. Het telefoonnummer is 14 met daarachter het netnummer van uw "
            f"gemeente. Noem dan uw afspraaknummer: {appointment.reference}."
        )
        await expect(r_page.locator("#finished-book")).to_be_hidden()
        await expect(r_page.locator("#finished-staff")).to_be_hidden()
        await accessible_at_both_sizes(r_page, "resident, after the call")
        assert re.search(r"^h2\|\|finished-title\|", await focused(r_page))
        await tab_to(r_page, r"^button\|submit\|\|Geef uw mening")

        # --- the outcome form, with the keyboard, and back to the desk ---------------------
        await s_page.keyboard.press("Shift+Tab")
        await s_page.keyboard.press("Enter")
        await s_page.wait_for_url(f"**{outcome_path}")
        await expect(s_page.get_by_role("heading", level=1)).to_have_text("Hoe ging het gesprek?")
        await expect(s_page.locator("main")).to_contain_text(appointment.reference)
        await accessible_at_both_sizes(s_page, "desk outcome form")
        await tab_to(s_page, r"^button\|submit\|\|Afgerond, vervolg nodig")
        await s_page.keyboard.press("Enter")
        await s_page.wait_for_url("**/staff/desk?vastgelegd=1", timeout=DEADLINE_MS)
        await expect(s_page.locator(".notice")).to_contain_text("vastgelegd")
        for participant in (specialist, resident):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()
