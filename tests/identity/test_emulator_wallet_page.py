"""The demo wallet page: a person shares or refuses with plain HTML forms."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import EmulatorSettings, TokenAuth, create_emulator_app
from identity.emulator.wallet_page import WALLET_COOKIE
from tests.identity.conftest import (
    BSN,
    DATEOFBIRTH,
    EMAIL,
    EMULATOR_TOKEN,
    FULLNAME,
    LiveEmulator,
    disclosure,
)
from tests.support import free_port


class Page(HTMLParser):
    """The facts of a page the tests check: inputs, labels, forms, scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = ""
        self.inputs: list[dict[str, str]] = []
        self.labels_for: set[str] = set()
        self.forms: list[dict[str, str]] = []
        self.scripts = 0
        self.styles_inline = 0
        self.h1 = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "label" and "for" in a:
            self.labels_for.add(a["for"])
        elif tag == "form":
            self.forms.append(a)
        elif tag == "script":
            self.scripts += 1
        elif tag == "style" or "style" in a:
            self.styles_inline += 1
        elif tag == "h1":
            self.h1 += 1

    def value_of(self, attribute_id: str) -> str:
        return next(i["value"] for i in self.inputs if i.get("data-attribute") == attribute_id)


def check_page(html: str) -> Page:
    page = Page(html)
    assert page.lang == "nl"
    assert page.scripts == 0 and page.styles_inline == 0
    assert page.h1 == 1
    for form in page.forms:
        assert form["method"] == "post"
    for field in page.inputs:
        if field.get("type") == "text":
            assert field["id"] in page.labels_for, f"unlabelled input {field}"
    return page


async def fetch(
    live: LiveEmulator, path: str, *, browser: aiohttp.ClientSession | None = None
) -> tuple[int, str]:
    async with (browser or live.http).get(f"{live.url}{path}") as response:
        assert response.content_type == "text/html"
        return response.status, await response.text()


async def post(
    live: LiveEmulator,
    path: str,
    data: dict[str, str],
    *,
    browser: aiohttp.ClientSession | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    async with (browser or live.http).post(
        f"{live.url}{path}", data=data, allow_redirects=False, headers=headers
    ) as response:
        return response.status, response.headers.get("Location", "")


@asynccontextmanager
async def other_browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A second browser: its own cookie jar (unsafe: keep cookies of 127.0.0.1)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


def listed_links(html: str) -> list[str]:
    page = check_page(html)
    return [
        i["value"] for i in page.inputs if i.get("name") == "link" and i.get("type") == "hidden"
    ]


def form_fields(page: Page) -> dict[str, str]:
    return {
        i["name"]: i.get("value", "")
        for i in page.inputs
        if i.get("type") in ("text", "hidden") or (i.get("type") == "radio" and "checked" in i)
    }


async def open_first(live: LiveEmulator, package: dict[str, Any]) -> str:
    """Open the session as the call page's form does: POST its link to ``/wallet/open``."""
    code, location = await post(live, "/wallet/open", {"link": package["sessionPtr"]["u"]})
    assert code == 303
    # from now on the listing offers it to this browser
    code, html = await fetch(live, "/wallet")
    assert code == 200
    assert listed_links(html) == [package["sessionPtr"]["u"]]
    return location


async def test_sharing_the_prefilled_demo_values(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN, FULLNAME]], [[DATEOFBIRTH]], [[], [EMAIL]]))
    location = await open_first(live, package)
    assert await live.status(package) == "CONNECTED"

    code, html = await fetch(live, location)
    assert code == 200
    page = check_page(html)
    assert "Burgerservicenummer (BSN)" in html
    assert page.value_of(BSN) == "999999990"
    assert page.value_of(FULLNAME) == "Test Persoon"
    assert page.value_of(DATEOFBIRTH) == "1970-01-01"

    fields = form_fields(page)
    assert fields["keuze-2"] == "0"  # the optional item offers "Niets delen" first
    fields["keuze-2"] = "1"
    fields[next(i["name"] for i in page.inputs if i.get("data-attribute") == FULLNAME)] = (
        "T. Persoon"
    )
    code, after = await post(live, location, {**fields, "actie": "delen"})
    assert code == 303
    assert after == location  # no value ever in a URL
    assert "999999990" not in after and "Persoon" not in after

    result = await live.result(package)
    assert result["proofStatus"] == "VALID"
    assert [[(a["id"], a["rawvalue"]) for a in inner] for inner in result["disclosed"]] == [
        [(BSN, "999999990"), (FULLNAME, "T. Persoon")],
        [(DATEOFBIRTH, "1970-01-01")],
        [(EMAIL, "test@example.org")],
    ]
    code, html = await fetch(live, location)
    assert "U heeft de gegevens gedeeld" in html


async def test_refusing(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    location = await open_first(live, package)
    code, _ = await post(live, location, {"actie": "weigeren"})
    assert code == 303
    assert await live.status(package) == "CANCELLED"
    _, html = await fetch(live, location)
    check_page(html)
    assert "Er zijn geen gegevens gedeeld" in html


async def test_an_emptied_field_is_a_missing_attribute(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[{"type": BSN, "notNull": True}]]))
    location = await open_first(live, package)
    _, html = await fetch(live, location)
    fields = form_fields(check_page(html))
    fields = {k: ("" if k.startswith("waarde-") else v) for k, v in fields.items()}
    await post(live, location, {**fields, "actie": "delen"})
    result = await live.result(package)
    assert result["proofStatus"] == "MISSING_ATTRIBUTES"
    # asked notNull, the empty value does not meet the question: irmago leaves it null
    assert result["disclosed"] == [None]


async def test_pasting_a_link_and_pairing(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[{"type": BSN, "value": "999999990"}]]))
    u = package["sessionPtr"]["u"]
    auth = {"Authorization": package["frontendRequest"]["authorization"]}
    async with live.http.post(
        f"{u}/frontend/options",
        json={"@context": "https://irma.app/ld/request/frontendoptions/v1", "pairingMethod": "pin"},
        headers=auth,
    ) as response:
        code_expected = (await response.json())["pairingCode"]

    code, _ = await post(live, "/wallet/open", {"link": "http://elsewhere.example/irma/x"})
    assert code == 400
    code, location = await post(
        live, "/wallet/open", {"link": json.dumps({"u": u, "irmaqr": "disclosing"})}
    )
    assert code == 303
    _, html = await fetch(live, location)
    check_page(html)
    assert re.search(rf'<strong id="koppelcode">{code_expected}</strong>', html)
    assert await live.status(package) == "PAIRING"

    async with live.http.post(f"{u}/frontend/pairingcompleted", headers=auth) as response:
        assert response.status == 204
    _, html = await fetch(live, location)
    page = check_page(html)
    assert page.value_of(BSN) == "999999990"
    assert "moet zijn: 999999990" in html
    await post(live, location, {**form_fields(page), "actie": "delen"})
    assert (await live.result(package))["proofStatus"] == "VALID"


async def test_unknown_sessions_get_a_readable_page(emulator_live: LiveEmulator) -> None:
    code, html = await fetch(emulator_live, "/wallet/sessions/AAAAAAAAAAAAAAAAAAAA")
    assert code == 404
    check_page(html)
    assert "Onbekende vraag" in html


async def test_the_page_escapes_what_the_requestor_sent(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[{"type": BSN, "value": "<b>x</b>"}]]))
    location = await open_first(live, package)
    _, html = await fetch(live, location)
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


# -- the listing and the session pages belong to the browser that opened the session ------


async def test_the_listing_shows_only_the_sessions_this_browser_opened(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    mine = await live.start(disclosure([[BSN]]))
    theirs = await live.start(disclosure([[FULLNAME]]))
    unopened = await live.start(disclosure([[DATEOFBIRTH]]))

    _, html = await fetch(live, "/wallet")
    assert listed_links(html) == []  # nothing opened yet: nothing offered, not even to us
    assert unopened["sessionPtr"]["u"] not in html
    await open_first(live, mine)
    async with other_browser() as browser:
        code, _ = await post(
            live, "/wallet/open", {"link": theirs["sessionPtr"]["u"]}, browser=browser
        )
        assert code == 303
        _, html = await fetch(live, "/wallet", browser=browser)
        assert listed_links(html) == [theirs["sessionPtr"]["u"]]
        assert mine["sessionPtr"]["u"] not in html
    _, html = await fetch(live, "/wallet")
    assert listed_links(html) == [mine["sessionPtr"]["u"]]
    assert theirs["sessionPtr"]["u"] not in html and unopened["sessionPtr"]["u"] not in html
    async with other_browser() as stranger:
        _, html = await fetch(live, "/wallet", browser=stranger)
        assert listed_links(html) == []
        assert "/irma/session/" not in html


async def test_another_browser_can_neither_see_nor_answer_a_session(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    location = await open_first(live, package)
    _, html = await fetch(live, location)
    fields = form_fields(check_page(html))

    async with other_browser() as stranger:
        code, html = await fetch(live, location, browser=stranger)
        assert code == 403
        check_page(html)
        assert "andere browser" in html
        assert "999999990" not in html and "<form" not in html
        # answering, refusing or re-opening from there changes nothing
        for data in ({**fields, "actie": "delen"}, {"actie": "weigeren"}):
            code, _ = await post(live, location, data, browser=stranger)
            assert code == 403
        code, _ = await post(
            live, "/wallet/open", {"link": package["sessionPtr"]["u"]}, browser=stranger
        )
        assert code == 403
    assert await live.status(package) == "CONNECTED"
    assert "proofStatus" not in await live.result(package)

    # the browser that opened it still can
    code, after = await post(live, location, {**fields, "actie": "delen"})
    assert (code, after) == (303, location)
    assert (await live.result(package))["proofStatus"] == "VALID"


async def test_visiting_an_unopened_session_neither_shows_nor_connects_it(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    token = package["sessionPtr"]["u"].rsplit("/", 1)[1]
    code, html = await fetch(live, f"/wallet/sessions/{token}")
    assert code == 403
    check_page(html)
    code, _ = await post(live, f"/wallet/sessions/{token}", {"actie": "weigeren"})
    assert code == 403
    assert await live.status(package) == "INITIALIZED"


async def test_a_session_opened_by_a_real_app_is_not_taken_over(
    emulator_live: LiveEmulator,
) -> None:
    from identity.wallet import TestWallet

    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    await TestWallet(live.http).connect(package["sessionPtr"])
    code, _ = await post(live, "/wallet/open", {"link": package["sessionPtr"]["u"]})
    assert code == 403
    _, html = await fetch(live, "/wallet")
    assert listed_links(html) == []
    assert await live.status(package) == "CONNECTED"


async def test_cross_site_posts_are_refused(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    code, _ = await post(
        live,
        "/wallet/open",
        {"link": package["sessionPtr"]["u"]},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert code == 403
    assert await live.status(package) == "INITIALIZED"
    location = await open_first(live, package)
    code, _ = await post(
        live, location, {"actie": "weigeren"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert code == 403
    assert await live.status(package) == "CONNECTED"


async def test_the_wallet_cookie_is_random_http_only_strict_and_scoped(
    emulator_key: rsa.RSAPrivateKey,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/irma-emulator"
    parent = web.Application()
    parent.add_subapp(
        "/irma-emulator",
        create_emulator_app(
            EmulatorSettings(
                public_url=base,
                requestor_auth=TokenAuth(EMULATOR_TOKEN),
                jwt_private_key=emulator_key,
            )
        ),
    )
    runner = web.AppRunner(parent)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        values = []
        for _ in range(2):
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{base}/session",
                    json=disclosure([[BSN]]),
                    headers={"Authorization": EMULATOR_TOKEN},
                ) as response:
                    package = await response.json()
                async with http.get(f"{base}/wallet") as response:
                    assert WALLET_COOKIE not in response.cookies  # a visit alone sets nothing
                async with http.post(
                    f"{base}/wallet/open",
                    data={"link": package["sessionPtr"]["u"]},
                    allow_redirects=False,
                ) as response:
                    assert response.status == 303
                    cookie = response.cookies[WALLET_COOKIE]
            assert cookie["httponly"] is True
            assert cookie["samesite"] == "Strict"
            assert cookie["path"] == "/irma-emulator/wallet"
            assert not cookie["secure"]  # plain http here; https public URLs get Secure
            assert not cookie["domain"] and not cookie["expires"] and not cookie["max-age"]
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)  # 256 random bits
            values.append(cookie.value)
        assert values[0] != values[1]
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("cookie", ["", "short", "x" * 43 + "!"])
async def test_a_malformed_wallet_cookie_is_replaced(
    emulator_live: LiveEmulator, cookie: str
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    async with live.http.post(
        f"{live.url}/wallet/open",
        data={"link": package["sessionPtr"]["u"]},
        headers={"Cookie": f"{WALLET_COOKIE}={cookie}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        assert response.cookies[WALLET_COOKIE].value != cookie
