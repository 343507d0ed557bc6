"""Reusable Playwright pieces for Balie's browser tests.

Bind the fixtures in a test module (``browser = e2e_browser.browser``) or list
this module in ``pytest_plugins`` of the root ``tests/conftest.py``. They give
each test:

* ``browser``: the machine's Debian Chromium, headless, with a fake camera and
  microphone. A missing Chromium is an error, never a skip: a browser suite that
  silently skips proves nothing.
* ``live_balie``: a real Balie server on a loopback port (``tests.support``).

Each participant gets its own browser context (:func:`open_participant`), so
storage, permissions and media devices are as separate as on two computers.

Deadlines here only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyotp
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    WebSocketRoute,
    async_playwright,
    expect,
)

from server.config import DEFAULT_NODE_MODULES, Config
from server.staff.demo import demo_credentials
from tests.support import LiveServer, live_server

#: the browser the workplace machines ship; Playwright's own downloads are blocked there
CHROMIUM_PATH: Final = Path(os.environ.get("BALIE_CHROMIUM", "/usr/bin/chromium"))

CHROMIUM_ARGS: Final = (
    # a synthetic camera picture and a beeping microphone instead of real devices
    "--use-fake-device-for-media-stream",
    # grant the camera/microphone prompt without a dialog
    "--use-fake-ui-for-media-stream",
    # containers run as root, where Chromium's sandbox cannot start
    "--no-sandbox",
    "--disable-gpu",
    # /dev/shm is tiny in containers; Chromium crashes on large pages without this
    "--disable-dev-shm-usage",
    # no background traffic to Google services from test machines
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # remote video must start without a click, as after the join click in real use
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
)

MEDIA_PERMISSIONS: Final = ("camera", "microphone")

#: the longest any single wait in these helpers may take
DEADLINE_S: Final = 60.0
DEADLINE_MS: Final = DEADLINE_S * 1000


class ChromiumMissing(RuntimeError):
    """The browser the tests need is not installed."""


def chromium_executable() -> Path:
    """The Chromium binary, or a clear error saying how to get it."""
    path = CHROMIUM_PATH
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ChromiumMissing(
            f"Chromium not found at {path}. Install Debian's package "
            "('apt-get install chromium') or point BALIE_CHROMIUM at a Chromium binary. "
            "Browser tests fail rather than skip without it."
        )
    return path


@asynccontextmanager
async def launch_chromium(extra_args: Iterable[str] = ()) -> AsyncIterator[Browser]:
    """A headless Chromium with fake media devices; closed on exit."""
    executable = chromium_executable()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable),
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Participant:
    """One person's browser context and page, with what the page complained about."""

    name: str
    context: BrowserContext
    page: Page
    #: console errors and uncaught exceptions, prefixed with their kind
    problems: list[str] = field(default_factory=list)
    #: every console line, for the story of a failure
    console: list[str] = field(default_factory=list)

    def describe(self, lines: int = 60) -> str:
        """Context for an assertion message: what the page reported."""
        reported = "\n  ".join(self.problems) if self.problems else "(nothing)"
        recent = "\n  ".join(self.console[-lines:]) if self.console else "(nothing)"
        return (
            f"{self.name}: console errors and page errors:\n  {reported}\n"
            f"{self.name}: last console lines:\n  {recent}"
        )

    def assert_no_page_errors(self) -> None:
        """No uncaught exception and no Content-Security-Policy violation."""
        bad = [p for p in self.problems if p.startswith("pageerror") or "Content Security" in p]
        assert not bad, self.describe()

    async def evaluate_json(self, expression: str) -> object:
        """Evaluate JavaScript; the result as plain JSON-like Python values."""
        result: object = await self.page.evaluate(expression)
        return result

    async def close(self) -> None:
        await self.context.close()


async def open_participant(
    browser: Browser,
    url: str,
    *,
    name: str,
    permissions: Iterable[str] = MEDIA_PERMISSIONS,
    init_script: str | None = None,
) -> Participant:
    """A fresh browser context (own storage, own devices) with ``url`` loaded.

    ``init_script`` runs in every page of the context before the page's own
    scripts, e.g. to replace a browser API the way a situation would.
    """
    context = await browser.new_context(
        permissions=list(permissions),
        locale="nl-NL",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(DEADLINE_MS)
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    participant = Participant(name, context, page)

    def on_console(message: ConsoleMessage) -> None:
        participant.console.append(f"{message.type}: {message.text}")
        if message.type == "error":
            participant.problems.append(f"console: {message.text}")

    def on_page_error(error: Error) -> None:
        participant.problems.append(f"pageerror: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    await page.goto(url)
    return participant


class SocketCutter:
    """Runs a page's signalling socket through Playwright so a test can drop it.

    ``cut()`` closes the socket on both ends the way a network drop looks to
    each side: the page sees an unexpected close, the server a vanished
    client whose seat it holds for the resume grace period. While ``blocked``
    is set, reconnection attempts are refused at once.
    """

    #: an application close code: not one of the codes that tell the client to stop
    DROP_CODE: Final = 4000

    def __init__(self) -> None:
        self.blocked = False
        #: sockets the page opened (refused ones included)
        self.attempts = 0
        self._live: list[WebSocketRoute] = []

    async def install(self, page: Page) -> None:
        """Route the page's future ``/ws`` sockets; call before it connects."""
        await page.route_web_socket(re.compile(r"/ws$"), self._route)

    async def _route(self, page_side: WebSocketRoute) -> None:
        self.attempts += 1
        if self.blocked:
            await page_side.close(code=self.DROP_CODE, reason="blocked by test")
            return
        # Without handlers both directions are forwarded unchanged.
        page_side.connect_to_server()
        self._live.append(page_side)

    async def cut(self) -> None:
        """Drop every open socket of the page."""
        live, self._live = self._live, []
        for page_side in live:
            # closing the page side also closes the server side (Playwright's default)
            await page_side.close(code=self.DROP_CODE, reason="cut by test")


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as running:
        yield running


@pytest.fixture
async def live_balie(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as running:
        yield running


# -- the call page ---------------------------------------------------------------

#: per peer id, the video frames decoded so far from that peer
_VIDEO_FRAMES_JS: Final = """
async () => {
  const frames = {};
  for (const [peerId, pc] of window.balie.pcs) {
    let decoded = 0;
    const report = await pc.getStats();
    report.forEach((stats) => {
      if (stats.type === 'inbound-rtp' && stats.kind === 'video') {
        decoded += stats.framesDecoded ?? 0;
      }
    });
    frames[peerId] = decoded;
  }
  return frames;
}
"""

_STATE_JS: Final = "() => JSON.stringify(window.balie.state)"


async def call_state(participant: Participant) -> str:
    """``window.balie.state`` as JSON text, for assertion messages."""
    state = await participant.page.evaluate(_STATE_JS)
    return str(state)


async def click_join(participant: Participant) -> None:
    """Wait for the camera check to finish, then press "Deelnemen"."""
    join = participant.page.get_by_role("button", name="Deelnemen", exact=True)
    await join.wait_for(state="visible")
    await participant.page.wait_for_function(
        "() => !document.getElementById('join-btn').disabled", timeout=DEADLINE_MS
    )
    await join.click()


async def wait_for_phase(participant: Participant, phase: str) -> None:
    try:
        await participant.page.wait_for_function(
            "(phase) => window.balie && window.balie.state.phase === phase",
            arg=phase,
            timeout=DEADLINE_MS,
        )
    except Error as exc:
        state = await call_state(participant)
        raise AssertionError(
            f"{participant.name} never reached phase {phase!r}; state {state}\n"
            f"{participant.describe()}"
        ) from exc


async def open_demo_wallet(resident: Participant) -> Page:
    """The identity step as a person takes it: "Open de demo-wallet in een nieuw tabblad",
    and the wallet's tab once it shows what will be shared."""
    page = resident.page
    await expect(page.locator("#verify")).to_be_visible(timeout=DEADLINE_MS)
    demo = page.get_by_role("button", name="Open de demo-wallet in een nieuw tabblad")
    async with resident.context.expect_page() as opened:
        await demo.click()
    wallet = await opened.value
    await expect(wallet.get_by_role("heading", name="Gegevens delen")).to_be_visible(
        timeout=DEADLINE_MS
    )
    return wallet


async def share_in_demo_wallet(resident: Participant, wallet: Page) -> None:
    """ "Delen" in the demo wallet's tab, by hand; then back to the call page."""
    await wallet.get_by_role("button", name="Delen").click()
    await expect(wallet.get_by_text("U heeft de gegevens gedeeld")).to_be_visible(
        timeout=DEADLINE_MS
    )
    await resident.page.bring_to_front()


async def admit_first_waiting(specialist: Participant) -> None:
    """Press "Toelaten" for the first person in the specialist's lobby panel."""
    admit = specialist.page.get_by_role("button", name=re.compile(r"^Toelaten")).first
    await admit.wait_for(state="visible")
    await admit.click()


async def video_frames_by_peer(participant: Participant) -> dict[str, int]:
    raw = await participant.evaluate_json(_VIDEO_FRAMES_JS)
    assert isinstance(raw, dict), f"unexpected stats result {raw!r}"
    frames: dict[str, int] = {}
    for peer_id, value in raw.items():
        assert isinstance(peer_id, str) and isinstance(value, int | float)
        frames[peer_id] = int(value)
    return frames


async def wait_for_video_flowing(
    participant: Participant, *, peers: int, interval_s: float = 1.0
) -> tuple[Mapping[str, int], Mapping[str, int]]:
    """Poll until video from each of ``peers`` peers is decoded and keeps being decoded.

    Returns the two samples (taken ``interval_s`` apart) that showed it. Only
    the growth is asserted, never a frame rate: that depends on the machine.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    first: Mapping[str, int] = {}
    second: Mapping[str, int] = {}
    while loop.time() < deadline:
        first = await video_frames_by_peer(participant)
        await asyncio.sleep(interval_s)
        second = await video_frames_by_peer(participant)
        if len(second) == peers and all(
            first.get(peer, 0) > 0 and second[peer] > first.get(peer, 0) for peer in second
        ):
            return first, second
    state = await call_state(participant)
    raise AssertionError(
        f"{participant.name}: video frames did not keep growing for {peers} peer(s): "
        f"samples {dict(first)} then {dict(second)}; state {state}\n{participant.describe()}"
    )


async def remote_video_facts(participant: Participant) -> list[dict[str, object]]:
    """Width and attributes of every remote video tile."""
    raw = await participant.evaluate_json(
        """() => [...document.querySelectorAll('#tiles video:not(#self-video)')].map((v) => ({
             videoWidth: v.videoWidth,
             playsinline: v.hasAttribute('playsinline'),
             autoplay: v.hasAttribute('autoplay'),
             muted: v.muted,
           }))"""
    )
    assert isinstance(raw, list)
    facts: list[dict[str, object]] = []
    for item in raw:
        assert isinstance(item, dict)
        facts.append({str(key): value for key, value in item.items()})
    return facts


async def video_flows(*participants: Participant, peers: int = 1) -> None:
    """Each of ``participants`` shows ``peers`` remote videos and decodes ever more frames
    of each: media flowed, not just signalling."""
    for participant in participants:
        await wait_for_remote_video(participant, count=peers)
        first, second = await wait_for_video_flowing(participant, peers=peers)
        assert all(second[peer] > first[peer] > 0 for peer in second), (first, second)


async def wait_for_remote_video(participant: Participant, *, count: int) -> None:
    """Wait until ``count`` remote video elements show a picture."""
    try:
        await participant.page.wait_for_function(
            """(count) => {
                 const videos = [...document.querySelectorAll('#tiles video:not(#self-video)')];
                 return videos.length === count && videos.every((v) => v.videoWidth > 0);
               }""",
            arg=count,
            timeout=DEADLINE_MS,
        )
    except Error as exc:
        facts = await remote_video_facts(participant)
        raise AssertionError(
            f"{participant.name}: remote video never showed a picture: {facts}\n"
            f"{participant.describe()}"
        ) from exc


async def browser_storage(participant: Participant) -> dict[str, object]:
    """Everything this origin keeps in Web Storage and IndexedDB, plus its cookies."""
    raw = await participant.evaluate_json(
        """async () => {
             const dump = (storage) => {
               const out = {};
               for (let i = 0; i < storage.length; i += 1) {
                 const key = storage.key(i);
                 out[key] = storage.getItem(key);
               }
               return out;
             };
             const databases = indexedDB.databases ? await indexedDB.databases() : [];
             return {
               localStorage: dump(window.localStorage),
               sessionStorage: dump(window.sessionStorage),
               indexedDB: databases.map((db) => db.name),
               documentCookie: document.cookie,
             };
           }"""
    )
    assert isinstance(raw, dict)
    found: dict[str, object] = {str(key): value for key, value in raw.items()}
    found["cookies"] = [cookie.get("name") for cookie in await participant.context.cookies()]
    return found


async def sign_in_staff(page: Page, config: Config, login: str) -> None:
    """The real sign-in of a demo account (``specialist``, ``planner``…): user name and
    password, then the authenticator app's code; ends on the staff landing page."""
    credentials = demo_credentials(config)[login]
    await page.goto(f"{config.public_url}/staff/sign-in")
    await page.get_by_label("Gebruikersnaam").fill(credentials.login)
    await page.get_by_label("Wachtwoord").fill(credentials.password)
    await page.get_by_role("button", name="Verder").click()
    await page.wait_for_url("**/staff/sign-in/code")
    await page.get_by_label("Code van 6 cijfers").fill(pyotp.TOTP(credentials.totp_secret).now())
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url("**/staff")


AXE = DEFAULT_NODE_MODULES / "axe-core" / "axe.min.js"

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    result = await page.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } }))"
        ".violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map((n) => n.target.join(' ')) }))",
        TAGS,
    )
    assert isinstance(result, list)
    return result


async def assert_accessible(page: Page, state: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{state}: {json.dumps(violations, indent=1)}"


#: the sizes every new screen is checked at: a common phone (iPhone 12-15) and a laptop
PHONE: Final = ViewportSize(width=390, height=844)
DESKTOP: Final = ViewportSize(width=1280, height=800)


async def accessible_at_both_sizes(page: Page, state: str) -> None:
    """No axe violations in ``state`` on a phone or on a desktop (the layouts differ)."""
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        await page.set_viewport_size(size)
        await assert_accessible(page, f"{state}, {name}")


#: more than any page here has focusable elements: a missing target fails, never loops
MAX_TABS: Final = 60

_FOCUSED_JS: Final = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
  return `${el.tagName.toLowerCase()}|${el.getAttribute('type') || ''}|${el.id}|`
    + `${(label || el.textContent || '').trim()}`;
}"""


async def focused(page: Page) -> str:
    described = await page.evaluate(_FOCUSED_JS)
    assert isinstance(described, str)
    return described


async def tab_to(page: Page, pattern: str) -> str:
    """Press Tab until the focused element's description matches ``pattern``."""
    seen = []
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        now = await focused(page)
        seen.append(now)
        if re.search(pattern, now):
            return now
    raise AssertionError(f"Tab never reached {pattern!r}; focus went through {seen}")
