"""The resident's path through their e-mail, in Chromium: book on the resident pages with an
e-mail address, take the confirmation from a real SMTP server (aiosmtpd), open its manage
link in a fresh browser, turn the reminders off by keyboard (announced), cancel, and find the
cancellation in the mailbox.

The test delivers what is due itself, as the worker would at its next poll.
"""

from __future__ import annotations

import re
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from server.messages.appkeys import OUTBOX
from tests.e2e import browser as e2e_browser
from tests.e2e import mailing
from tests.e2e.browser import assert_accessible, open_participant
from tests.e2e.mailing import book_with_email, manage_link, plain_text
from tests.server.messages.smtp import Delivered, SmtpServer
from tests.support import LiveServer

browser = e2e_browser.browser
smtp = mailing.smtp
mailing_balie = mailing.mailing_balie

pytestmark = pytest.mark.e2e

TENANT: Final = "demo"
EMAIL: Final = "inwoner@example.invalid"


def mail(smtp: SmtpServer, subject: str) -> Delivered:
    """The one message received whose subject matches ``subject`` (a regular expression)."""
    found = [d for d in smtp.received if re.fullmatch(subject, str(d.message["Subject"]))]
    assert len(found) == 1, [str(d.message["Subject"]) for d in smtp.received]
    return found[0]


async def test_the_link_in_the_confirmation_mail_manages_the_appointment(
    browser: Browser, mailing_balie: LiveServer, smtp: SmtpServer
) -> None:
    await book_with_email(browser, mailing_balie.url, EMAIL)

    await mailing_balie.app[OUTBOX].run_due()
    confirmation = mail(smtp, r"Uw afspraak op [a-z]+ \d+ [a-z]+ om \d\d:\d\d")
    assert confirmation.recipients == [EMAIL]

    # Later, in another browser: the link from the e-mail
    later = await open_participant(browser, manage_link(confirmation.message), name="later")
    try:
        page = later.page
        await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak")
        await expect(page.get_by_text("U krijgt een herinnering de dag voor")).to_be_visible()
        await assert_accessible(page, "manage page with reminders")
        # reminders off, by keyboard only
        button = page.get_by_role("button", name="Geen herinneringen meer sturen")
        await button.focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text("Uw keuze is opgeslagen.")
        off = page.get_by_text("U krijgt geen herinneringen voor deze afspraak.")
        await expect(off).to_be_visible()
        await assert_accessible(page, "manage page, reminders off")
        # then cancel, the way the page offers it
        await page.get_by_role("link", name="Afspraak afzeggen").click()
        await page.get_by_role("button", name=re.compile("afzeggen", re.IGNORECASE)).click()
        await expect(page.get_by_role("status")).to_contain_text("afgezegd")
        later.assert_no_page_errors()
    finally:
        await later.close()

    await mailing_balie.app[OUTBOX].run_due()
    notice = mail(smtp, re.escape(str(confirmation.message["Subject"])) + " gaat niet door")
    assert f"/afspraak/{TENANT}/kies/" in plain_text(notice.message)
    assert len(smtp.received) == 2  # no reminder, no second confirmation
