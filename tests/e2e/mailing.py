"""What the browser tests that follow a message share: a Balie that sends its e-mail to a real
SMTP server (aiosmtpd), ``smtp`` and ``mailing_balie`` (import both names into the test
module); booking with an e-mail address as a resident does; the manage link in a mail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.browser import open_participant
from tests.server.messages.smtp import SmtpServer, smtp_settings
from tests.support import LiveServer, config_for, live_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def mailing_balie(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[LiveServer]:
    """The demo Balie sending to ``smtp``. The test delivers what is due itself
    (``app[OUTBOX].run_due()``); the worker's own loop is `balie serve`'s, which
    tests/server/messages/test_crash.py runs."""
    config = config_for(tmp_path, messages=smtp_settings(smtp.port))
    async with live_server(tmp_path, config=config) as running:
        yield running


async def book_with_email(browser: Browser, url: str, email: str) -> None:
    """On the demo municipality's booking pages at ``url``: the first time of the first day
    for "Burgerzaken", confirmed with ``email`` for the confirmation."""
    resident = await open_participant(browser, f"{url}/afspraak/demo", name="inwoner")
    try:
        page = resident.page
        await page.get_by_role("link", name=re.compile("Burgerzaken")).click()
        await page.locator("a.date-link").first.click()
        await page.locator("input[name=start]").first.check()
        await page.get_by_role("button", name="Deze tijd kiezen").click()
        await page.get_by_label(re.compile("E-mailadres")).fill(email)
        await page.get_by_role("button", name="Afspraak bevestigen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def manage_link(message: EmailMessage) -> str:
    """The link in the mail that opens the appointment (its token in the fragment)."""
    text = plain_text(message)
    found = re.search(r"http://[^\s/]+/afspraak/demo/[^\s#]+#token=\S+", text)
    assert found is not None, text
    return found.group(0)
