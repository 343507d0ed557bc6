"""The demo wallet page: a person shares or refuses with plain HTML forms."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from tests.identity.conftest import BSN, DATEOFBIRTH, EMAIL, FULLNAME, LiveEmulator, disclosure


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


async def fetch(live: LiveEmulator, path: str) -> tuple[int, str]:
    async with live.http.get(f"{live.url}{path}") as response:
        assert response.content_type == "text/html"
        return response.status, await response.text()


async def post(live: LiveEmulator, path: str, data: dict[str, str]) -> tuple[int, str]:
    async with live.http.post(f"{live.url}{path}", data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", "")


def form_fields(page: Page) -> dict[str, str]:
    return {
        i["name"]: i.get("value", "")
        for i in page.inputs
        if i.get("type") in ("text", "hidden") or (i.get("type") == "radio" and "checked" in i)
    }


async def open_first(live: LiveEmulator, package: dict[str, Any]) -> str:
    code, html = await fetch(live, "/wallet")
    assert code == 200
    page = check_page(html)
    links = [
        i["value"] for i in page.inputs if i.get("name") == "link" and i.get("type") == "hidden"
    ]
    assert links == [package["sessionPtr"]["u"]]
    code, location = await post(live, "/wallet/open", {"link": links[0]})
    assert code == 303
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
    assert result["disclosed"][0][0]["status"] == "NULL"


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
