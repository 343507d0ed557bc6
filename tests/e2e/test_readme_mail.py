"""The confirmation on the README's Balie, in Chromium: ``balie serve`` started as the README
starts it (a fresh data directory, nothing else configured, so no mail server), a resident
books with an e-mail address by clicking through the pages, the outbox worker writes the
confirmation into ``<data dir>/mail/`` on its own poll, and the manage link in that file,
opened in another browser, shows the appointment.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
from email.message import EmailMessage
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from tests.e2e import browser as e2e_browser
from tests.e2e.browser import open_participant
from tests.e2e.mailing import book_with_email, manage_link
from tests.support import balie_serve

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e

EMAIL: Final = "readme@example.invalid"
#: the worker looks every 5 seconds: this only stops a broken run from hanging
DEADLINE: Final = 60.0


def mail_in(folder: Path) -> EmailMessage | None:
    """The one ``.eml`` in ``folder``, or None while there is none."""
    found = sorted(folder.glob("*.eml"))
    if not found:
        return None
    (written,) = found
    assert oct(written.stat().st_mode & 0o777) == "0o600"  # it holds the resident's address
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def the_mail_file(folder: Path) -> EmailMessage:
    """The confirmation the worker writes into ``folder`` on one of its polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while (message := await asyncio.to_thread(mail_in, folder)) is None:
        assert loop.time() < deadline, f"no confirmation written into {folder}"
        await asyncio.sleep(0.5)
    return message


async def test_the_readme_balie_writes_the_confirmation_whose_link_opens_the_appointment(
    browser: Browser, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    async with balie_serve(data, stop=signal.SIGINT) as started:
        await book_with_email(browser, started.url, EMAIL)
        confirmation = await the_mail_file(data / "mail")
        assert confirmation["To"] == EMAIL
        assert str(confirmation["Subject"]).startswith("Uw afspraak op ")
        later = await open_participant(browser, manage_link(confirmation), name="later")
        try:
            page = later.page
            await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak")
            assert page.url.endswith("/beheren")
            await expect(page.get_by_role("link", name="Naar het gesprek")).to_be_visible()
            later.assert_no_page_errors()
        finally:
            await later.close()
        assert EMAIL not in "\n".join(started.lines)  # the address stays out of the log
