"""yivi-frontend 0.1.3 in headless Chromium against the emulator, with the test wallet.

The test page is served by the test's own aiohttp app on another origin than
the emulator (so CORS is exercised, as with a separate irma server). It loads
the npm bundle from node_modules and runs ``yivi.newWeb({...}).start()`` with
``session.start`` and ``session.result`` pointing at the page's own backend,
which talks to the emulator's requestor API; the browser sees only
``sessionPtr`` and ``frontendRequest``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from identity.emulator import EmulatorSettings, TokenAuth, create_emulator_app
from identity.wallet import TestWallet
from server.core.security import content_security_policy
from tests.e2e.browser import (
    DEADLINE_MS,
    DEADLINE_S,
    Participant,
    assert_accessible,
    open_participant,
)
from tests.e2e.browser import browser as e2e_browser
from tests.identity.conftest import (
    BSN,
    EMULATOR_TOKEN,
    FULLNAME,
    LiveEmulator,
    disclosure,
)
from tests.support import free_port

pytestmark = pytest.mark.e2e

browser = e2e_browser

ROOT: Final = Path(__file__).resolve().parents[2]
YIVI_JS: Final = ROOT / "node_modules" / "@privacybydesign" / "yivi-frontend" / "dist" / "yivi.js"

PAGE_HTML: Final = """<!doctype html>
<html lang="nl">
<head><meta charset="utf-8"><title>Yivi-test</title></head>
<body>
<main>
  <h1>Yivi-test</h1>
  <section id="yivi-web-form"></section>
  <p id="outcome" data-state="pending">bezig</p>
</main>
<script src="/yivi.js"></script>
<script src="/page.js"></script>
</body>
</html>
"""

PAGE_JS: Final = """
const outcome = document.getElementById('outcome');
yivi.newWeb({
  element: '#yivi-web-form',
  language: 'nl',
  debugging: true,
  session: {
    url: '',
    start: { url: () => '/start', method: 'POST' },
    result: { url: () => '/result' },
  },
}).start().then((result) => {
  window.yiviResult = result;
  outcome.dataset.state = 'resolved';
  outcome.textContent = 'klaar';
}).catch((error) => {
  outcome.dataset.state = 'rejected';
  outcome.textContent = String(error);
});
"""


@dataclass
class Backend:
    """The page's backend: starts sessions at the emulator and fetches results."""

    emulator_url: str
    request: dict[str, object]
    http: aiohttp.ClientSession
    pointers: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    token: str = ""
    results_served: int = 0

    def app(self, csp: str) -> web.Application:
        app = web.Application(middlewares=[self._headers(csp)])
        app.router.add_get("/", self._page)
        app.router.add_get("/page.js", self._page_js)
        app.router.add_get("/yivi.js", self._yivi_js)
        app.router.add_post("/start", self._start)
        app.router.add_get("/result", self._result)
        return app

    @staticmethod
    def _headers(csp: str) -> Any:
        @web.middleware
        async def headers(request: web.Request, handler: Any) -> web.StreamResponse:
            response: web.StreamResponse = await handler(request)
            response.headers["Content-Security-Policy"] = csp
            return response

        return headers

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE_HTML, content_type="text/html")

    async def _page_js(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE_JS, content_type="application/javascript")

    async def _yivi_js(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(YIVI_JS)

    async def _start(self, request: web.Request) -> web.Response:
        async with self.http.post(
            f"{self.emulator_url}/session",
            json=self.request,
            headers={"Authorization": EMULATOR_TOKEN},
        ) as response:
            assert response.status == 200
            package = await response.json()
        self.token = package["token"]
        await self.pointers.put(package["sessionPtr"])
        # only what the browser needs; the requestor token stays here
        return web.json_response(
            {"sessionPtr": package["sessionPtr"], "frontendRequest": package["frontendRequest"]}
        )

    async def _result(self, request: web.Request) -> web.Response:
        async with self.http.get(f"{self.emulator_url}/session/{self.token}/result") as response:
            body = await response.json()
        self.results_served += 1
        return web.json_response(body)


@dataclass
class Rig:
    backend: Backend
    participant: Participant

    @property
    def page(self) -> Page:
        return self.participant.page


def csp_for(emulator_url: str) -> str:
    # Balie's own policy (no 'unsafe-inline'; yivi's stylesheet allowed by hash),
    # with the emulator as a fetch target as for a real irma server elsewhere
    return content_security_policy("unused-nonce", connect=(emulator_url,))


@asynccontextmanager
async def rig_for(
    browser: Browser, live: LiveEmulator, request: dict[str, object]
) -> AsyncIterator[Rig]:
    assert YIVI_JS.is_file(), f"{YIVI_JS} missing: run 'npm ci' first"
    backend = Backend(live.url, request, live.http)
    port = free_port()
    runner = web.AppRunner(backend.app(csp_for(live.url)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    participant = await open_participant(
        browser, f"http://127.0.0.1:{port}/", name="inwoner", permissions=()
    )
    try:
        yield Rig(backend, participant)
    finally:
        await participant.close()
        await runner.cleanup()


async def wait_for_outcome(rig: Rig) -> str:
    await rig.page.wait_for_function(
        "() => document.getElementById('outcome').dataset.state !== 'pending'",
        timeout=DEADLINE_MS,
    )
    state = await rig.page.get_attribute("#outcome", "data-state")
    return state or ""


async def test_the_frontend_resolves_after_the_wallet_discloses(
    browser: Browser, emulator_live: LiveEmulator
) -> None:
    async with rig_for(browser, emulator_live, disclosure([[BSN, FULLNAME]])) as rig:
        pointer = await asyncio.wait_for(rig.backend.pointers.get(), DEADLINE_S)
        # the QR code is drawn before anything is scanned
        await rig.page.locator("canvas.yivi-web-qr-canvas").wait_for()

        status = await TestWallet(emulator_live.http).disclose(
            pointer, {BSN: "999999990", FULLNAME: "Test Persoon"}
        )

        assert status == "VALID"
        assert await wait_for_outcome(rig) == "resolved", rig.participant.describe()
        await rig.page.locator(".yivi-web-checkmark-animation").wait_for()
        assert "Gelukt!" in await rig.page.inner_text("#yivi-web-form")
        result = await rig.page.evaluate("() => window.yiviResult")
        assert result["status"] == "DONE"
        assert result["proofStatus"] == "VALID"
        assert [a["rawvalue"] for a in result["disclosed"][0]] == ["999999990", "Test Persoon"]
        assert rig.backend.results_served == 1
        rig.participant.assert_no_page_errors()
        # the frontend never saw the requestor token
        assert rig.backend.token not in await rig.page.content()


async def test_pairing_through_the_frontend_page(
    browser: Browser, emulator_live: LiveEmulator
) -> None:
    request = disclosure([[{"type": BSN, "value": "999999990"}]])
    async with rig_for(browser, emulator_live, request) as rig:
        pointer = await asyncio.wait_for(rig.backend.pointers.get(), DEADLINE_S)
        await rig.page.locator("canvas.yivi-web-qr-canvas").wait_for()

        page = rig.page

        async def type_code(code: str) -> None:
            first = page.locator(".yivi-web-pairing-code input").first
            await first.wait_for()
            await first.focus()
            await page.keyboard.type(code)

        status = await TestWallet(emulator_live.http).disclose(
            pointer, {BSN: "999999990"}, on_pairing=type_code
        )

        assert status == "VALID"
        assert await wait_for_outcome(rig) == "resolved", rig.participant.describe()
        result = await rig.page.evaluate("() => window.yiviResult")
        assert result["proofStatus"] == "VALID"
        rig.participant.assert_no_page_errors()


async def test_a_refusal_shows_cancelled(browser: Browser, emulator_live: LiveEmulator) -> None:
    async with rig_for(browser, emulator_live, disclosure([[BSN]])) as rig:
        pointer = await asyncio.wait_for(rig.backend.pointers.get(), DEADLINE_S)
        await rig.page.locator("canvas.yivi-web-qr-canvas").wait_for()

        await TestWallet(emulator_live.http).refuse(pointer)

        await rig.page.locator(".yivi-web-forbidden-animation").wait_for()
        assert "afgebroken" in await rig.page.inner_text("#yivi-web-form")
        assert rig.backend.results_served == 0


# -- the demo wallet, opened from the page that shows the QR code -----------------------

CALL_PAGE_HTML: Final = """<!doctype html>
<html lang="nl">
<head><meta charset="utf-8"><title>Gesprek</title></head>
<body>
<main>
  <h1>Gesprek</h1>
  <section id="yivi-web-form"></section>
  <form id="demo-wallet" method="post" action="/irma-emulator/wallet/open" target="_blank"
        rel="noopener" hidden>
    <input type="hidden" name="link" id="demo-wallet-link" value="">
    <button type="submit">Open de demo-wallet in een nieuw tabblad</button>
  </form>
  <p id="outcome" data-state="pending">bezig</p>
</main>
<script src="/yivi.js"></script>
<script src="/call.js"></script>
</body>
</html>
"""

#: what the call page does in demo mode: keep the session link from the start response and
#: POST it to the emulator's /wallet/open in a new tab (never in a URL)
CALL_PAGE_JS: Final = """
const outcome = document.getElementById('outcome');
const demo = document.getElementById('demo-wallet');
yivi.newWeb({
  element: '#yivi-web-form',
  language: 'nl',
  session: {
    url: '',
    start: { url: () => '/start', method: 'POST' },
    mapping: {
      sessionPtr: (r) => {
        document.getElementById('demo-wallet-link').value = r.sessionPtr.u;
        demo.hidden = false;
        return r.sessionPtr;
      },
      frontendRequest: (r) => r.frontendRequest,
    },
    result: { url: () => '/result' },
  },
}).start().then(() => {
  demo.hidden = true;
  outcome.dataset.state = 'resolved';
}).catch((error) => {
  outcome.dataset.state = 'rejected';
  outcome.textContent = String(error);
});
"""


@asynccontextmanager
async def call_page_with_mounted_emulator(
    emulator_key: Any,
) -> AsyncIterator[tuple[str, Backend]]:
    """Balie's shape: the emulator mounted at /irma-emulator beside the call page."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    parent = web.Application(
        middlewares=[Backend._headers(content_security_policy("unused-nonce"))]
    )
    parent.add_subapp(
        "/irma-emulator",
        create_emulator_app(
            EmulatorSettings(
                public_url=origin + "/irma-emulator",
                requestor_auth=TokenAuth(EMULATOR_TOKEN),
                jwt_private_key=emulator_key,
            )
        ),
    )
    async with aiohttp.ClientSession() as http:
        backend = Backend(origin + "/irma-emulator", disclosure([[BSN, FULLNAME]]), http)
        parent.router.add_get("/call", _call_page)
        parent.router.add_get("/call.js", _call_page_js)
        parent.router.add_get("/yivi.js", backend._yivi_js)
        parent.router.add_post("/start", backend._start)
        parent.router.add_get("/result", backend._result)
        runner = web.AppRunner(parent)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield origin, backend
        finally:
            await runner.cleanup()


async def _call_page(request: web.Request) -> web.Response:
    return web.Response(text=CALL_PAGE_HTML, content_type="text/html")


async def _call_page_js(request: web.Request) -> web.Response:
    return web.Response(text=CALL_PAGE_JS, content_type="application/javascript")


async def test_the_call_page_opens_the_demo_wallet_for_its_own_session_only(
    browser: Browser, emulator_key: Any
) -> None:
    async with call_page_with_mounted_emulator(emulator_key) as (origin, backend):
        resident = await open_participant(browser, f"{origin}/call", name="inwoner", permissions=())
        stranger = await open_participant(
            browser, f"{origin}/irma-emulator/wallet", name="bezoeker", permissions=()
        )
        try:
            page = resident.page
            button = page.get_by_role("button", name="Open de demo-wallet in een nieuw tabblad")
            await button.wait_for()
            await asyncio.wait_for(backend.pointers.get(), DEADLINE_S)

            # another browser on the same demo finds nothing to answer, before and after
            await stranger.page.reload()
            assert "Er zijn nu geen open vragen" in await stranger.page.inner_text("main")

            async with resident.context.expect_page() as opened:
                await button.click()
            wallet = await opened.value
            await wallet.get_by_role("heading", name="Gegevens delen").wait_for()
            assert "/irma/session/" not in wallet.url.split("/wallet/sessions/")[0]

            await stranger.page.reload()
            assert "Er zijn nu geen open vragen" in await stranger.page.inner_text("main")
            await stranger.page.goto(wallet.url)
            assert "andere browser" in await stranger.page.inner_text("main")
            await assert_accessible(stranger.page, "demo wallet, another browser's question")
            await assert_accessible(wallet, "demo wallet, the form")

            await wallet.get_by_role("button", name="Delen").click()
            await wallet.get_by_text("U heeft de gegevens gedeeld").wait_for()
            assert await wait_for_outcome(Rig(backend, resident)) == "resolved", resident.describe()
            resident.assert_no_page_errors()
        finally:
            await stranger.close()
            await resident.close()
