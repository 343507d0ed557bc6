"""Screenshots of Balie for the tour (docs/tour.md): the resident, the specialist, the planner.

Run from the repository root::

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It starts Balie in this process on a free loopback port with a fresh temporary data directory
and the demo data, drives headless Chromium (fake camera and microphone, as the browser tests
do) through a whole journey and writes PNGs with fixed names (:data:`SHOTS`) into ``--out``.
Everything it starts (server, browser, temporary directory) is stopped and removed on exit; a
step that fails stops the run with exit status 1.

Only obviously fake values are used: the demo wallet discloses BSN 999999990 and the name
"Test Persoon"; the dashboard's numbers are invented rows in the temporary database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, Final

import aiohttp
import pyotp
from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from sqlalchemy import insert

from identity.wallet import TestWallet
from server.app import create_app
from server.booking.appkeys import BOOKING
from server.booking.appointment import Appointment
from server.booking.intervals import wall_to_instant
from server.booking.join_links import new_room_id, resident_join_url
from server.config import Config
from server.core.appkeys import CONFIG, KEYS
from server.core.clock import AMSTERDAM
from server.core.logs import AccessLogger
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.demo import DEMO_TENANT
from server.db.schema import appointments, audit_events, feedback
from server.staff.demo import demo_credentials

log = logging.getLogger("balie.screenshots")

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUT: Final = ROOT / "docs" / "screenshots"
CHROMIUM: Final = Path(os.environ.get("BALIE_CHROMIUM", "/usr/bin/chromium"))
#: the flags of tests/e2e/browser.py: fake camera and microphone, no prompts, no sandbox
CHROMIUM_ARGS: Final = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--hide-scrollbars",
)
DESKTOP: Final = ViewportSize(width=1280, height=800)
PHONE: Final = ViewportSize(width=390, height=844)
#: a single wait may take this long before the run counts as failed
DEADLINE_MS: Final = 60_000

FAKE_BSN: Final = "999999990"
FAKE_NAME: Final = "Test Persoon"
WALLET_VALUES: Final = {
    "irma-demo.gemeente.personalData.bsn": FAKE_BSN,
    "irma-demo.gemeente.personalData.fullname": FAKE_NAME,
}
RESIDENT_EMAIL: Final = "test@example.invalid"

#: every file the run writes, in journey order; ``*-phone`` files are 390×844, the rest 1280×800
SHOTS: Final = (
    "resident-01-landing",
    "resident-01-landing-phone",
    "resident-02-dates",
    "resident-03-times",
    "resident-03-times-phone",
    "resident-04-contact",
    "resident-05-confirmation",
    "resident-05-confirmation-phone",
    "specialist-01-sign-in",
    "specialist-02-code",
    "resident-06-opened-early",
    "resident-06-opened-early-phone",
    "resident-06-device-check",
    "resident-07-identity-qr",
    "resident-08-lobby",
    "specialist-03-desk",
    "specialist-04-call-lobby",
    "specialist-04-call-lobby-phone",
    "specialist-05-call-verified",
    "resident-09-in-call",
    "resident-09-in-call-phone",
    "specialist-06-call-ended",
    "specialist-06-call-ended-phone",
    "resident-10-finished",
    "resident-10-finished-phone",
    "specialist-07-outcome",
    "specialist-07-outcome-phone",
    "resident-11-feedback",
    "resident-12-english-landing",
    "resident-13-english-times",
    "walkin-01-counters",
    "walkin-01-counters-phone",
    "walkin-02-choose",
    "walkin-02-choose-phone",
    "walkin-03-voice-check",
    "walkin-04-queue",
    "walkin-04-queue-phone",
    "walkin-05-desk",
    "walkin-06-voice-call",
    "walkin-06-voice-call-phone",
    "walkin-07-chat-call",
    "walkin-07-chat-call-phone",
    "walkin-08-callback",
    "walkin-09-desk-callback",
    "planner-01-home",
    "planner-02-week",
    "planner-03-staff-hours",
    "planner-04-dashboard",
    "planner-05-walkin",
    "planner-06-walkin-counter",
    "planner-07-dashboard-walkin",
)


class ScreenshotError(RuntimeError):
    """A step of the journey did not go as expected."""


@dataclass
class Shooter:
    """Writes each screenshot under its fixed name and remembers which were taken."""

    out: Path
    taken: list[str]

    async def shot(self, page: Page, name: str) -> None:
        if name not in SHOTS:
            raise ScreenshotError(f"{name!r} is not in SHOTS")
        # no blinking caret, no half-finished transition in the picture
        await page.screenshot(
            path=self.out / f"{name}.png", animations="disabled", caret="hide", scale="css"
        )
        self.taken.append(name)
        log.info("wrote %s.png", name)

    async def phone(self, page: Page, name: str) -> None:
        """The same page at a phone's width, then back to the desktop size."""
        await page.set_viewport_size(PHONE)
        await page.wait_for_timeout(300)  # the layout and the videos settle at the new size
        await self.shot(page, name)
        await page.set_viewport_size(DESKTOP)


# --- server and browser ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_balie(data_dir: Path) -> AsyncIterator[web.Application]:
    """Balie with the demo data on a free loopback port, as ``balie serve`` runs it."""
    config = Config(port=free_port(), data_dir=data_dir)
    app = create_app(config)
    runner = web.AppRunner(app, access_log_class=AccessLogger)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    try:
        yield app
    finally:
        await runner.cleanup()


@asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise ScreenshotError(f"Chromium not found at {CHROMIUM} (set BALIE_CHROMIUM)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_person(browser: Browser) -> tuple[BrowserContext, Page]:
    """One person's own browser: storage, cookies and devices of their own."""
    context = await browser.new_context(
        permissions=["camera", "microphone"],
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        viewport=DESKTOP,
    )
    context.set_default_timeout(DEADLINE_MS)
    expect.set_options(timeout=DEADLINE_MS)
    page = await context.new_page()
    page.on("pageerror", lambda error: log.warning("page error: %s", error))
    return context, page


# --- demo rows --------------------------------------------------------------------------------


def _appointment_row(
    purpose: str, staff_id: str, start: datetime, minutes: int, state: str
) -> dict[str, Any]:
    appointment_id = str(uuid.uuid4())
    return {
        "id": appointment_id,
        "tenant_id": DEMO_TENANT,
        "reference": appointment_id[:8].upper(),
        "purpose_key": purpose,
        "staff_id": staff_id,
        "state": state,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=minutes),
        "buffered_start": start,
        "buffered_end": start + timedelta(minutes=minutes + 10),
        "hold_expires_at": None,
        "room_id": new_room_id(),
        "version": 1,
        "rescheduled_from": None,
        "contact_email": None,
        "contact_phone": None,
        "created_at": start - timedelta(days=3),
        "updated_at": start,
    }


async def add_call_later(app: web.Application) -> Appointment:
    """An appointment with Bram in two days: its join link, opened now, is early."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    row = _appointment_row("bijstand", "demo-bram", start, 30, "booked")
    async with writer(app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments).values(row))
    found: Appointment = await app[BOOKING].get(DEMO_TENANT, row["id"])
    return found


async def add_call_now(app: web.Application) -> Appointment:
    """An appointment with Anna (the demo specialist) whose time has come: the desk can open
    it and the resident's link works already (booking refuses so short a notice)."""
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = wall_to_instant(now.astimezone(AMSTERDAM).date(), clock(0), AMSTERDAM)
    start = max(now - timedelta(minutes=5), midnight + timedelta(minutes=1))
    row = _appointment_row("bijstand", "demo-anna", start, 30, "booked")
    async with writer(app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments).values(row))
    found: Appointment = await app[BOOKING].get(DEMO_TENANT, row["id"])
    return found


#: (working days ago, hour, purpose, staff, state, lobby wait in minutes or None,
#: feedback score or None)
_HISTORY: Final = (
    (1, 9, "bijstand", "demo-anna", "completed", 4, 5),
    (1, 10, "burgerzaken", "demo-daan", "completed", 2, 4),
    (1, 14, "wmo", "demo-bram", "no_show", None, None),
    (2, 9, "belastingen", "demo-chantal", "completed", 6, 3),
    (2, 11, "bijstand", "demo-anna", "completed", 3, 4),
    (3, 10, "burgerzaken", "demo-daan", "completed", 1, 5),
    (3, 15, "burgerzaken", "demo-esra", "completed", 5, 4),
    (6, 9, "wmo", "demo-anna", "completed", 8, 2),
    (6, 13, "bijstand", "demo-anna", "no_show", None, None),
    (7, 10, "belastingen", "demo-chantal", "completed", 2, 4),
    (8, 9, "burgerzaken", "demo-daan", "completed", 3, 5),
    (8, 14, "wmo", "demo-bram", "completed", 7, 3),
    (9, 11, "bijstand", "demo-anna", "completed", 4, 4),
    (10, 9, "burgerzaken", "demo-daan", "completed", 2, None),
    (13, 10, "belastingen", "demo-esra", "completed", 3, 4),
    (14, 9, "wmo", "demo-bram", "completed", 9, 3),
    (15, 11, "bijstand", "demo-anna", "completed", 5, 5),
    (16, 10, "burgerzaken", "demo-daan", "no_show", None, None),
)


def working_days_before(day: date, count: int) -> date:
    """The date ``count`` working days (Monday to Friday) before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


async def add_history(app: web.Application, today: date) -> None:
    """Invented past calls, waits and scores, so the dashboard has something to draw."""
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    for days_ago, hour, purpose, staff_id, state, wait, score in _HISTORY:
        start = wall_to_instant(working_days_before(today, days_ago), clock(hour), AMSTERDAM)
        row = _appointment_row(purpose, staff_id, start, 30, state)
        row["version"] = 4
        rows.append(row)
        subject = f"appointment:{row['id']}"
        if wait is not None:
            for action, at in (
                ("appointment.check_in", start - timedelta(minutes=wait)),
                ("appointment.start_call", start),
            ):
                events.append(
                    {
                        "tenant_id": DEMO_TENANT,
                        "at": at,
                        "actor": "staff:demo-specialist",
                        "action": action,
                        "subject": subject,
                        "attributes": [],
                    }
                )
        if score is not None:
            scores.append(
                {
                    "tenant_id": DEMO_TENANT,
                    "appointment_id": row["id"],
                    "purpose_key": purpose,
                    "score": score,
                    "comment": None,
                    "at": start + timedelta(minutes=40),
                }
            )
    async with writer(app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments), rows)
        await conn.execute(insert(audit_events), events)
        await conn.execute(insert(feedback), scores)


# --- the journey ------------------------------------------------------------------------------


async def book_as_resident(page: Page, url: str, shooter: Shooter) -> None:
    """Landing → dates → times → contact details → confirmation (a future Bijstand call)."""
    await page.goto(f"{url}/afspraak/{DEMO_TENANT}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Afspraak maken")
    await shooter.shot(page, "resident-01-landing")
    await shooter.phone(page, "resident-01-landing-phone")

    await page.get_by_role("link", name=re.compile("Bijstand")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een dag")
    await shooter.shot(page, "resident-02-dates")

    await page.locator("a.date-link").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een tijd")
    await page.locator("input[name=start]").nth(1).check()
    await shooter.shot(page, "resident-03-times")
    await shooter.phone(page, "resident-03-times-phone")

    await page.get_by_role("button", name="Deze tijd kiezen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bevestig uw afspraak")
    await page.locator("input[type=email]").fill(RESIDENT_EMAIL)
    await shooter.shot(page, "resident-04-contact")

    await page.get_by_role("button", name="Afspraak bevestigen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
    await shooter.shot(page, "resident-05-confirmation")
    await shooter.phone(page, "resident-05-confirmation-phone")


async def english_pages(page: Page, url: str, shooter: Shooter) -> None:
    """The same pages in English, chosen with the switch at the top."""
    await page.goto(f"{url}/afspraak/{DEMO_TENANT}")
    await page.get_by_role("button", name="English").click()
    await page.locator("html[lang=en]").wait_for()
    await shooter.shot(page, "resident-12-english-landing")
    await page.get_by_role("link", name=re.compile("Bijstand")).click()
    await page.locator("a.date-link").first.click()
    await page.locator("input[name=start]").nth(1).check()
    await shooter.shot(page, "resident-13-english-times")


async def sign_in(
    page: Page, url: str, config: Config, login: str, shooter: Shooter | None
) -> None:
    """The staff sign-in: user name and password, then the TOTP code (pyotp)."""
    creds = demo_credentials(config)[login]
    await page.goto(f"{url}/staff/sign-in")
    await page.get_by_label("Gebruikersnaam").fill(login)
    await page.get_by_label("Wachtwoord").fill(creds.password)
    if shooter is not None:
        await shooter.shot(page, "specialist-01-sign-in")
    await page.get_by_role("button", name="Verder").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Code invullen")
    await page.get_by_label("Code van 6 cijfers").fill(pyotp.TOTP(creds.totp_secret).now())
    if shooter is not None:
        await shooter.shot(page, "specialist-02-code")
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Welkom")


async def scroll_to(heading: Locator) -> None:
    """The page from ``heading`` down, rather than from its top."""
    await heading.evaluate(
        "(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 16)"
    )


async def wait_until_joinable(page: Page) -> None:
    """The device check has finished: "Deelnemen" can be pressed."""
    await page.get_by_role("button", name="Deelnemen", exact=True).wait_for(state="visible")
    await page.wait_for_function(
        "() => !document.getElementById('join-btn').disabled", timeout=DEADLINE_MS
    )


async def wait_for_phase(page: Page, phase: str) -> None:
    await page.wait_for_function(
        "(phase) => window.balie && window.balie.state.phase === phase",
        arg=phase,
        timeout=DEADLINE_MS,
    )


async def wait_for_remote_video(page: Page) -> None:
    await page.wait_for_function(
        """() => {
             const videos = [...document.querySelectorAll('#tiles video:not(#self-video)')];
             return videos.length > 0 && videos.every((v) => v.videoWidth > 0);
           }""",
        timeout=DEADLINE_MS,
    )


async def resident_opens_early(page: Page, early_url: str, shooter: Shooter) -> None:
    """A join link opened two days before its call: when it starts, from when one can join."""
    await page.goto(early_url)
    await expect(page.locator("#opening")).to_be_visible()
    await page.wait_for_function(
        "() => document.getElementById('self-video').videoWidth > 0", timeout=DEADLINE_MS
    )
    await expect(page.get_by_role("button", name="Deelnemen", exact=True)).to_be_disabled()
    await page.wait_for_timeout(500)  # a few frames painted, not the first black one
    await shooter.shot(page, "resident-06-opened-early")
    await shooter.phone(page, "resident-06-opened-early-phone")


async def resident_to_lobby(page: Page, join_url: str, shooter: Shooter) -> None:
    """Device check → identity step (QR code; the scripted wallet answers) → waiting room."""
    await page.goto(join_url)
    await wait_until_joinable(page)
    await page.wait_for_function(
        "() => document.getElementById('self-video').videoWidth > 0", timeout=DEADLINE_MS
    )
    await page.wait_for_timeout(500)  # a few frames painted, not the first black one
    await shooter.shot(page, "resident-06-device-check")

    async with page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await page.get_by_role("button", name="Deelnemen", exact=True).click()
    started: Any = await (await caught.value).json()
    await page.locator("#yivi-web-form canvas").wait_for(state="visible")
    await expect(page.locator("#verify-demo")).to_be_visible()
    await shooter.shot(page, "resident-07-identity-qr")

    async with aiohttp.ClientSession() as http:
        await TestWallet(http).disclose(started["sessionPtr"], WALLET_VALUES)
    await wait_for_phase(page, "lobby")
    await expect(page.locator("#lobby")).to_be_visible()
    await shooter.shot(page, "resident-08-lobby")


async def specialist_takes_the_call(staff: Page, resident: Page, shooter: Shooter) -> None:
    """The desk shows the waiting, verified resident; the call page shows the panel; admit."""
    await staff.get_by_role("link", name="Naar mijn gesprekken van vandaag").click()
    await expect(staff.get_by_role("heading", level=1)).to_have_text("Mijn gesprekken")
    waiting = staff.get_by_text(re.compile("Wacht in de wachtkamer"))
    await expect(waiting.first).to_be_visible()
    await shooter.shot(staff, "specialist-03-desk")

    await staff.get_by_role("button", name=re.compile("^Naar het gesprek")).first.click()
    await staff.wait_for_url(re.compile(r"/call/r_"))
    await wait_until_joinable(staff)
    await staff.get_by_role("button", name="Deelnemen", exact=True).click()
    await wait_for_phase(staff, "call")
    panel = staff.locator("#verified-panel")
    await expect(panel).to_contain_text(FAKE_NAME)
    if FAKE_BSN in await panel.inner_text():
        raise ScreenshotError("the verified panel shows the BSN before a reveal")
    admit = staff.get_by_role("button", name=re.compile(r"^Toelaten")).first
    await admit.wait_for(state="visible")
    # the appointment's number and subject, and how long the resident waits
    await expect(staff.locator("#lobby-list .waiting-about")).to_contain_text("Afspraaknummer")
    await expect(staff.locator("#lobby-list .waiting-state")).to_contain_text("Wacht")
    await shooter.shot(staff, "specialist-04-call-lobby")
    await shooter.phone(staff, "specialist-04-call-lobby-phone")

    await admit.click()
    await wait_for_phase(resident, "call")
    await wait_for_remote_video(staff)
    await wait_for_remote_video(resident)
    await shooter.shot(staff, "specialist-05-call-verified")
    await shooter.shot(resident, "resident-09-in-call")
    await shooter.phone(resident, "resident-09-in-call-phone")

    await staff.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
    await staff.get_by_role("button", name="Ja, beëindigen").click()
    await wait_for_phase(staff, "finished")
    await wait_for_phase(resident, "finished")
    outcome = staff.get_by_role("link", name="Uitkomst van het gesprek vastleggen")
    await expect(outcome).to_be_visible()
    await shooter.shot(staff, "specialist-06-call-ended")
    await shooter.phone(staff, "specialist-06-call-ended-phone")
    await expect(resident.get_by_role("button", name="Geef uw mening")).to_be_visible()
    await expect(resident.locator("#finished-next")).to_be_visible()
    await shooter.shot(resident, "resident-10-finished")
    await shooter.phone(resident, "resident-10-finished-phone")

    await outcome.click()
    await expect(staff.get_by_role("heading", level=1)).to_have_text("Hoe ging het gesprek?")
    await shooter.shot(staff, "specialist-07-outcome")
    await shooter.phone(staff, "specialist-07-outcome-phone")

    await resident.get_by_role("button", name="Geef uw mening").click()
    await expect(resident.get_by_role("heading", level=1)).to_have_text(
        "Wat vond u van het gesprek?"
    )
    await resident.locator("#score-4").check()
    await shooter.shot(resident, "resident-11-feedback")


async def walk_in(page: Page, url: str, channel: str, shooter: Shooter | None) -> None:
    """A resident at the walk-in counter: a question, a channel, the device check, the
    identity step (the scripted wallet), the queue."""
    await page.goto(f"{url}/balie/demo")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Nu praten met")
    if shooter is not None:
        await shooter.shot(page, "walkin-01-counters")
        await shooter.phone(page, "walkin-01-counters-phone")
    await page.get_by_role("link", name="Bijstand (Participatiewet)").click()
    await page.get_by_label(channel, exact=True).check()
    if shooter is not None:
        await shooter.shot(page, "walkin-02-choose")
        await shooter.phone(page, "walkin-02-choose-phone")
    await page.get_by_role("button", name="Naar de wachtrij").click()
    await page.wait_for_url(re.compile(r"/call/r_"))
    await wait_until_joinable(page)
    if shooter is not None:
        await shooter.shot(page, "walkin-03-voice-check")
    async with page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await page.get_by_role("button", name="Deelnemen", exact=True).click()
    started: Any = await (await caught.value).json()
    async with aiohttp.ClientSession() as http:
        await TestWallet(http).disclose(started["sessionPtr"], WALLET_VALUES)
    await wait_for_phase(page, "lobby")
    await expect(page.locator("#queue-position")).to_contain_text("in de wachtrij")


async def take_next(staff: Page, url: str, resident: Page) -> None:
    """ "Volgende inwoner" on the desk, join, admit."""
    await staff.goto(f"{url}/staff/desk")
    await staff.get_by_role("button", name="Volgende inwoner").click()
    await staff.wait_for_url(re.compile(r"/call/r_"))
    await wait_until_joinable(staff)
    await staff.get_by_role("button", name="Deelnemen", exact=True).click()
    await wait_for_phase(staff, "call")
    await staff.get_by_role("button", name=re.compile(r"^Toelaten")).first.click()
    await wait_for_phase(resident, "call")


async def end_call(staff: Page, resident: Page) -> None:
    await staff.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
    await staff.get_by_role("button", name="Ja, beëindigen").click()
    await wait_for_phase(resident, "finished")


async def walkin_pages(resident: Page, staff: Page, url: str, shooter: Shooter) -> None:
    """The walk-in counter: voice, then chat, then "bel mij terug"; the desk beside them."""
    await walk_in(resident, url, "Alleen bellen", shooter)
    await resident.wait_for_timeout(300)
    await shooter.shot(resident, "walkin-04-queue")
    await shooter.phone(resident, "walkin-04-queue-phone")
    await staff.goto(f"{url}/staff/desk")
    await expect(staff.get_by_role("button", name="Volgende inwoner")).to_be_visible()
    await scroll_to(staff.get_by_role("heading", name="Inloopbalie"))
    await shooter.shot(staff, "walkin-05-desk")
    await take_next(staff, url, resident)
    await expect(resident.locator("#call-card")).to_be_visible()
    await resident.wait_for_timeout(2500)  # the call timer shows a few seconds
    await shooter.shot(resident, "walkin-06-voice-call")
    await shooter.phone(resident, "walkin-06-voice-call-phone")
    await end_call(staff, resident)

    await walk_in(resident, url, "Chatten", None)
    await take_next(staff, url, resident)
    await resident.locator("#chat-input").fill("Goedemiddag, ik heb een vraag over mijn uitkering.")
    await resident.keyboard.press("Enter")
    await staff.locator("#chat-input").fill("Goedemiddag. Waar gaat uw vraag over?")
    await staff.keyboard.press("Enter")
    await expect(resident.locator("#chat-list .chat-text")).to_have_count(2)
    await shooter.shot(resident, "walkin-07-chat-call")
    await shooter.phone(resident, "walkin-07-chat-call-phone")
    await end_call(staff, resident)

    await resident.goto(f"{url}/balie/demo/bijstand/terugbellen")
    await resident.get_by_label("Uw telefoonnummer").fill("06 00000000")
    await resident.locator("#tijd-0").check()
    await shooter.shot(resident, "walkin-08-callback")
    await resident.get_by_role("button", name="Bel mij terug").click()
    await expect(resident.get_by_role("heading", level=1)).to_have_text("We bellen u terug")
    await staff.goto(f"{url}/staff/desk")
    callbacks = staff.get_by_role("heading", name="Terugbellen")
    if await callbacks.count():
        # today's windows are listed; after the counter's last window the first is tomorrow
        await scroll_to(callbacks)
    await shooter.shot(staff, "walkin-09-desk-callback")


async def planner_pages(page: Page, url: str, config: Config, shooter: Shooter) -> None:
    await sign_in(page, url, config, "planner", None)
    await shooter.shot(page, "planner-01-home")
    await page.goto(f"{url}/staff/planner")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Week van")
    await shooter.shot(page, "planner-02-week")
    await page.goto(f"{url}/staff/planner/staff/demo-anna")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Werktijden van")
    await shooter.shot(page, "planner-03-staff-hours")
    await page.goto(f"{url}/staff/planner/dashboard")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cijfers")
    # the first chart from its heading down, rather than the date form
    await scroll_to(page.get_by_role("heading", name="Gesprekken en wachttijd per dag"))
    await shooter.shot(page, "planner-04-dashboard")
    await scroll_to(page.get_by_role("heading", name="Inloopbalies"))
    await shooter.shot(page, "planner-07-dashboard-walkin")
    await page.goto(f"{url}/staff/planner/inloop")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inloopbalies")
    await shooter.shot(page, "planner-05-walkin")
    await page.goto(f"{url}/staff/planner/inloop/wmo")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Inloopbalie voor")
    await shooter.shot(page, "planner-06-walkin-counter")


async def take_screenshots(out: Path, data_dir: Path) -> list[str]:
    """The whole run into ``out`` (which must exist), with Balie's files in ``data_dir``;
    returns the names written (all of :data:`SHOTS` on success)."""
    shooter = Shooter(out, [])
    async with running_balie(data_dir) as app, headless_chromium() as browser:
        config = app[CONFIG]
        url = config.public_url
        await add_history(app, datetime.now(AMSTERDAM).date())
        call = await add_call_now(app)
        join_url = resident_join_url(config, app[KEYS], call, now=datetime.now(UTC))
        later = await add_call_later(app)
        early_url = resident_join_url(config, app[KEYS], later, now=datetime.now(UTC))
        if join_url is None or early_url is None:
            raise ScreenshotError("the appointment got no room")

        resident_context, resident = await new_person(browser)
        staff_context, staff = await new_person(browser)
        planner_context, planner = await new_person(browser)
        english_context, english = await new_person(browser)
        try:
            await book_as_resident(resident, url, shooter)
            await english_pages(english, url, shooter)
            await sign_in(staff, url, config, "specialist", shooter)
            await resident_opens_early(resident, early_url, shooter)
            await resident_to_lobby(resident, join_url, shooter)
            await specialist_takes_the_call(staff, resident, shooter)
            await walkin_pages(resident, staff, url, shooter)
            await planner_pages(planner, url, config, shooter)
        finally:
            for context in (resident_context, staff_context, planner_context, english_context):
                await context.close()
    missing = [name for name in SHOTS if name not in shooter.taken]
    if missing:
        raise ScreenshotError(f"not taken: {', '.join(missing)}")
    return shooter.taken


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNGs go")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    began = time.monotonic()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="balie-screenshots-") as data_dir:
            taken = asyncio.run(take_screenshots(args.out, Path(data_dir)))
    except Exception:
        log.exception("screenshots failed")
        return 1
    log.info("%d screenshots in %s (%.0f s)", len(taken), args.out, time.monotonic() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
