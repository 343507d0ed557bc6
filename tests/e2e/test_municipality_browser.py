"""The municipality's own pages in Chromium, with the keyboard only and axe (0 violations,
WCAG 2.1 AA tags, phone and desktop): from the site's home to the municipality's home, its
privacy and accessibility statements and contact page through the footer, on to booking;
in English; and the administrator's form, refused with errors and then saved, and its
choice of public holidays for booking (radio groups, by the arrow keys).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

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


async def test_the_municipality_pages_by_keyboard_without_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    url = live_balie.url
    resident = await open_participant(browser, url + "/", name="inwoner", permissions=())
    page = resident.page
    try:
        await tab_to(page, r"^a\|\|\|Gemeente Voorbeeld \(demo\)$")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Praten met Gemeente Voorbeeld (demo)"
        )
        await accessible_at_both_sizes(page, "the municipality's home")

        await tab_to(page, r"^a\|\|\|Privacy: welke gegevens")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo/privacy")
        wmo = page.get_by_role("region", name="Wmo: hulp en ondersteuning thuis")
        await expect(wmo).to_contain_text("Adres")
        await expect(wmo).to_contain_text("Tot 30 dagen na het gesprek")
        await accessible_at_both_sizes(page, "the privacy statement")

        # the footer's links, reached with Tab like every other link
        footer = page.get_by_role("contentinfo")
        await expect(footer).to_contain_text("0900-0000000")
        await tab_to(page, r"^a\|\|\|Toegankelijkheid$")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo/toegankelijkheid")
        await expect(page.locator("main")).to_contain_text("voldoet gedeeltelijk")
        await accessible_at_both_sizes(page, "the accessibility statement")

        await tab_to(page, r"^a\|\|\|Alle contactgegevens$")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo/contact")
        await expect(page.locator("main address")).to_contain_text("Voorbeeldplein 1")
        await accessible_at_both_sizes(page, "the contact page")

        await tab_to(page, r"^a\|\|\|Praat via video met een medewerker")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo")
        await tab_to(page, r"^a\|\|\|Een afspraak maken$")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/afspraak/demo")
        await expect(page.get_by_role("contentinfo")).to_contain_text("0900-0000000")
        await accessible_at_both_sizes(page, "booking, with the municipality's footer")

        # English, switched by keyboard on the statement itself
        await page.goto(f"{url}/gemeente/demo/privacy")
        await tab_to(page, r"^button\|submit\|\|English")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/gemeente/demo/privacy")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Privacy statement")
        await accessible_at_both_sizes(page, "the privacy statement in English")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_the_admin_form_by_keyboard_without_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    url = live_balie.url
    admin = await open_participant(browser, url + "/staff", name="beheerder", permissions=())
    page = admin.page
    try:
        await sign_in_staff(page, live_balie.config, "beheerder")
        await tab_to(page, r"^a\|\|\|Gegevens van de gemeente")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/staff/beheer/gemeente")
        await expect(page.locator("#phone")).to_have_value("0900-0000000")
        await accessible_at_both_sizes(page, "the admin form")

        # a bad number: refused, with the error next to the field and in the summary
        await tab_to(page, r"^input\|tel\|phone\|")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("bel ons")
        await tab_to(page, r"^button\|submit\|\|Gegevens opslaan")
        await page.keyboard.press("Enter")
        await expect(page.locator("#phone-error")).to_contain_text("Vul een telefoonnummer in")
        await expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
        await expect(page).to_have_title(re.compile("^Fout:"))
        await accessible_at_both_sizes(page, "the admin form, refused")

        # from the summary to the field, corrected, the status chosen with the arrow keys
        await page.locator(".error-summary").focus()
        await tab_to(page, r"^a\|\|\|Vul een telefoonnummer in")
        await page.keyboard.press("Enter")
        assert re.search(r"^input\|tel\|phone\|", await focused(page))
        await page.keyboard.press("Control+A")
        await page.keyboard.type("14 099")
        await tab_to(page, r"^input\|radio\|accessibility_status-voldoet-gedeeltelijk\|")
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#accessibility_status-eerste-maatregelen")).to_be_checked()
        await tab_to(page, r"^button\|submit\|\|Gegevens opslaan")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/staff/beheer/gemeente?klaar=opgeslagen")
        await expect(page.get_by_role("status")).to_contain_text("opgeslagen")
        await accessible_at_both_sizes(page, "the admin form, saved")

        await page.goto(f"{url}/gemeente/demo/toegankelijkheid")
        await expect(page.locator("main")).to_contain_text("eerste maatregelen genomen")
        await expect(page.get_by_role("contentinfo")).to_contain_text("14 099")
        admin.assert_no_page_errors()
    finally:
        await admin.close()


async def test_the_holiday_choice_by_keyboard_without_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    url = live_balie.url
    admin = await open_participant(browser, url + "/staff", name="beheerder", permissions=())
    page = admin.page
    try:
        await sign_in_staff(page, live_balie.config, "beheerder")
        await page.goto(f"{url}/staff/beheer/gemeente")
        # nothing stored yet: the defaults are checked
        await expect(page.locator("#holidays_close")).to_be_checked()
        await expect(page.locator("#liberation_day")).to_be_checked()
        await expect(page.locator("#good_friday-open")).to_be_checked()

        # Tab reaches each group at its checked radio; the arrow keys choose in the group
        await tab_to(page, r"^input\|radio\|holidays_close\|Ja, dicht")
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#holidays_close-open")).to_be_checked()
        await tab_to(page, r"^input\|radio\|liberation_day\|Elk jaar dicht")
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#liberation_day-lustrum")).to_be_checked()
        await tab_to(page, r"^input\|radio\|good_friday-open\|")
        await page.keyboard.press("ArrowUp")
        await expect(page.locator("#good_friday")).to_be_checked()
        await tab_to(page, r"^button\|submit\|\|Feestdagen opslaan")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/staff/beheer/gemeente?klaar=feestdagen")
        await expect(page.get_by_role("status")).to_contain_text("feestdagen is opgeslagen")
        await expect(page.locator("#holidays_close-open")).to_be_checked()
        await expect(page.locator("#liberation_day-lustrum")).to_be_checked()
        await expect(page.locator("#good_friday")).to_be_checked()
        await accessible_at_both_sizes(page, "the holiday choice, saved")

        # an answer the server does not know (as from an old page) is refused in the group,
        # and the summary's link leads the keyboard back into it
        await page.locator("#liberation_day-never").evaluate(
            "radio => { radio.value = 'x'; radio.checked = true; }"
        )
        await page.locator("#holidays_close-open").focus()
        await tab_to(page, r"^button\|submit\|\|Feestdagen opslaan")
        await page.keyboard.press("Enter")
        await expect(page.locator("#liberation_day-error")).to_contain_text(
            "Kies of Bevrijdingsdag elk jaar"
        )
        await expect(page).to_have_title(re.compile("^Fout:"))
        await accessible_at_both_sizes(page, "the holiday choice, refused")
        await page.locator(".error-summary").focus()
        await tab_to(page, r"^a\|\|\|Kies of Bevrijdingsdag")
        await page.keyboard.press("Enter")
        assert re.search(r"^input\|radio\|liberation_day\|", await focused(page))
        await page.keyboard.press("Space")
        await expect(page.locator("#liberation_day")).to_be_checked()
        await tab_to(page, r"^button\|submit\|\|Feestdagen opslaan")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/staff/beheer/gemeente?klaar=feestdagen")
        await expect(page.locator("#liberation_day")).to_be_checked()
        admin.assert_no_page_errors()
    finally:
        await admin.close()
