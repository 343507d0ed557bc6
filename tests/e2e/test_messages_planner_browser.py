"""The planner's "Berichten" in headless Chromium: reached, read and a failed message sent
again with the keyboard alone, the notice announced, and axe-core (WCAG 2.0/2.1 A and AA)
finds nothing on a phone and on a desktop, with a failure listed and with none."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.booking.appkeys import BOOKING
from server.booking.appointment import Contact
from server.messages.appkeys import OUTBOX
from tests.e2e import browser as e2e_browser
from tests.e2e import mailing
from tests.e2e.browser import accessible_at_both_sizes, open_participant, sign_in_staff, tab_to
from tests.server.messages.smtp import SmtpServer
from tests.support import LiveServer

browser = e2e_browser.browser
smtp = mailing.smtp
mailing_balie = mailing.mailing_balie

pytestmark = pytest.mark.e2e


async def test_berichten_by_keyboard_without_axe_violations(
    browser: Browser, mailing_balie: LiveServer, smtp: SmtpServer
) -> None:
    smtp.handler.refuse_rcpt = "550 5.1.1 mailbox unavailable"
    service = mailing_balie.app[BOOKING]
    dates = await service.available_dates("demo", "burgerzaken")
    (slot, *_) = await service.available_times("demo", "burgerzaken", dates[0])
    held = await service.hold(
        "demo", "burgerzaken", slot.start, contact=Contact(email="weg@example.invalid")
    )
    booked = await service.confirm("demo", held.id, held.version)
    assert await mailing_balie.app[OUTBOX].run_due() == 1
    staff = await open_participant(browser, mailing_balie.url + "/staff/sign-in", name="planner")
    try:
        page = staff.page
        await sign_in_staff(page, mailing_balie.config, "planner")
        await page.goto(f"{mailing_balie.url}/staff/planner")
        await tab_to(page, r"^a\|\|\|Berichten$")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/berichten")
        row = page.locator("table.messages-unsent tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text(booked.reference)
        await expect(row).to_contain_text("SMTP refused the recipient (550)")
        await accessible_at_both_sizes(page, "messages with a failure")

        smtp.handler.refuse_rcpt = None
        await tab_to(
            page,
            rf"^button\|submit\|\|Opnieuw versturen: Bevestiging, afspraak {booked.reference}$",
        )
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/planner/berichten?klaar=opnieuw")
        await expect(page.locator(".notice")).to_contain_text(
            "Het bericht wordt opnieuw verstuurd."
        )
        assert await mailing_balie.app[OUTBOX].run_due() == 1
        assert [d.recipients for d in smtp.received] == [["weg@example.invalid"]]
        await page.reload()
        await expect(page.get_by_text("Alles is aangekomen.")).to_be_visible()
        await accessible_at_both_sizes(page, "messages, all arrived")
        staff.assert_no_page_errors()
    finally:
        await staff.close()
