"""The Chromium arm of bench/setup.py: the real call page, join → first remote frame.

Debian's Chromium (``/usr/bin/chromium``, or ``BALIE_CHROMIUM``), headless, driven by
Playwright, with a fake camera and microphone and no permission prompt. Each run opens a
fresh room without an identity step (``balie room create``), the specialist's page and then
the resident's page, each in its own browser context. The specialist joins first; a small
script on the specialist's page presses "Toelaten" the moment the resident shows up in the
lobby (admitted at once, no human delay). The clock starts when the resident's page presses
"Deelnemen" (after the camera check has finished, as a person can only press it then) and
stops when the resident's page presents the first video frame from the specialist
(``requestVideoFrameCallback`` on the remote video; ``getStats`` ``framesDecoded`` polled
every 20 ms as a fallback). The time until the specialist's page shows the resident's first
frame is kept too (``both``: the later of the two; the pages share the machine's clock).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson
from playwright.async_api import Browser, Page, async_playwright

from bench._servers import HOST, ROOT, Server

CHROMIUM: Final = Path(os.environ.get("BALIE_CHROMIUM", "/usr/bin/chromium"))
ARGS: Final = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",  # containers run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
)
DEADLINE_S: Final = 60.0

#: on both pages, before the resident joins: when the first remote video frame shows
_WATCH_FRAMES: Final = """() => {
  const w = { first: null, source: null };
  w.done = new Promise((resolve) => { w.resolve = resolve; });
  window.__bench = w;
  const hit = (source) => {
    if (w.first !== null) return;
    w.first = performance.timeOrigin + performance.now();
    w.source = source;
    w.resolve(w.first);
  };
  const watch = (video) => {
    if (video.id === 'self-video' || video.__benchWatched) return;
    video.__benchWatched = true;
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => hit('rvfc'));
  };
  const scan = () => document.querySelectorAll('#tiles video').forEach(watch);
  new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  scan();
  const poll = async () => {
    if (w.first !== null) return;
    try {
      for (const [, pc] of window.balie.pcs) {
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded ?? 0) > 0) {
            hit('stats');
          }
        });
      }
    } catch (error) { /* the page is not in the call yet */ }
    setTimeout(poll, 20);
  };
  poll();
}"""

#: on the specialist's page: admit whoever waits, at once
_AUTO_ADMIT: Final = """() => {
  const pressed = new WeakSet();
  const admit = () => {
    for (const button of document.querySelectorAll('button')) {
      if (!pressed.has(button) && button.textContent.trim().startsWith('Toelaten')) {
        pressed.add(button);
        button.click();
      }
    }
  };
  new MutationObserver(admit).observe(document.body, { childList: true, subtree: true });
  admit();
}"""

_JOIN_ENABLED: Final = "() => !document.getElementById('join-btn').disabled"
_IN_CALL: Final = "() => window.balie && window.balie.state.phase === 'call'"
_PRESS_JOIN: Final = """() => {
  const t = performance.timeOrigin + performance.now();
  document.getElementById('join-btn').click();
  return t;
}"""


@dataclass(frozen=True)
class BrowserRun:
    resident_ms: float  #: resident's join → resident's first frame from the specialist
    both_ms: float  #: resident's join → both pages have shown a remote frame
    source: str  #: how the resident's frame was seen: rvfc or stats


def chromium_missing() -> str | None:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or BALIE_CHROMIUM)"
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


async def room_urls(server: Server) -> tuple[str, str]:
    """A fresh room without an identity step: the specialist's and the resident's links."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "room", "create", "--json",
        "--url", f"http://{HOST}:{server.port}",
        cwd=ROOT, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"balie room create failed ({proc.returncode}): {err.decode()}")
    (room,) = orjson.loads(out)
    return room["specialist"]["url"], room["resident"]["url"]


async def _open(browser: Browser, url: str) -> Page:
    context = await browser.new_context(permissions=["camera", "microphone"], locale="nl-NL")
    context.set_default_timeout(DEADLINE_S * 1000)
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_function(_JOIN_ENABLED)
    return page


async def _first_frame(page: Page, who: str) -> float:
    """When ``page`` showed its first remote frame; past the deadline, an error that says
    where the page stood (its phase, its peer connections), to tell a call that did not
    connect from a step the bench missed."""
    try:
        return float(await asyncio.wait_for(page.evaluate("() => window.__bench.done"), DEADLINE_S))
    except TimeoutError:
        where = await page.evaluate(_WHERE)
        raise RuntimeError(
            f"no remote frame on the {who}'s page within {DEADLINE_S:g} s: {where}"
        ) from None


#: the call page's phase and each peer connection's states (no names: bench rooms have none)
_WHERE: Final = """() => JSON.stringify({
  phase: window.balie && window.balie.state.phase,
  peers: window.balie ? [...window.balie.pcs.values()].map(
    (pc) => `${pc.signalingState}/${pc.iceConnectionState}/${pc.connectionState}`) : null,
})"""


async def browser_run(browser: Browser, server: Server) -> BrowserRun:
    specialist_url, resident_url = await room_urls(server)
    specialist = await _open(browser, specialist_url)
    resident = None
    try:
        await specialist.click("#join-btn")
        await specialist.wait_for_function(_IN_CALL)
        await specialist.evaluate(_AUTO_ADMIT)
        await specialist.evaluate(_WATCH_FRAMES)
        resident = await _open(browser, resident_url)
        await resident.evaluate(_WATCH_FRAMES)
        joined = float(await resident.evaluate(_PRESS_JOIN))
        seen = await _first_frame(resident, "resident")
        other = await _first_frame(specialist, "specialist")
        source = str(await resident.evaluate("() => window.__bench.source"))
        return BrowserRun(seen - joined, max(seen, other) - joined, source)
    finally:
        for page in (resident, specialist):
            if page is not None:
                await page.context.close()
