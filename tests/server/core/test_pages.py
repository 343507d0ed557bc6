"""Pages: the browser cookie, vendor files from npm, and problem JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from server.config import Config
from server.core.appkeys import CONFIG
from server.core.language import LANGUAGES, Languages
from server.core.pages import WEB_DIR
from server.core.problems import Problem, json_body
from tests.support import LiveServer, live_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        yield live


async def test_the_call_page_gives_the_browser_an_http_only_random_id(server: LiveServer) -> None:
    # unsafe: the jar otherwise keeps no cookies for an IP address like 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(server.url + "/call/r_room") as first:
            assert first.status == 200
            cookie = first.cookies["balie_browser"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert len(cookie.value) == 22
        # a browser that has an id keeps it
        async with http.get(server.url + "/call/r_room") as second:
            assert "balie_browser" not in second.cookies
    async with aiohttp.ClientSession() as other:
        async with other.get(server.url + "/call/r_room") as third:
            assert third.cookies["balie_browser"].value != cookie.value


async def test_the_yivi_bundle_is_served_from_the_npm_install(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/vendor/yivi.js") as response:
            assert response.status == 200
            assert response.content_type in ("application/javascript", "text/javascript")
            assert "newWeb" in await response.text()
        # only allow-listed files: node_modules itself is not browsable
        for name in ("peer", "..%2Fpackage.json", "axe.min.js"):
            async with http.get(server.url + "/vendor/" + name) as response:
                assert response.status == 404


async def test_a_missing_npm_install_is_a_clear_503(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        object.__setattr__(server.config, "node_modules", tmp_path / "nowhere")
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/vendor/yivi.js") as response:
                assert response.status == 503


async def test_problems_render_as_problem_json(aiohttp_client: object) -> None:
    from server.core.security import security_headers

    async def refuse(request: web.Request) -> web.Response:
        body = await json_body(request)
        raise Problem(409, "slot-taken", "That slot was just taken", f"{len(body)} fields")

    app = web.Application(middlewares=[security_headers])
    app[CONFIG] = Config()
    app[LANGUAGES] = Languages(WEB_DIR)  # problem details are translated
    app.router.add_post("/api/x", refuse)
    client = await aiohttp_client(app)  # type: ignore[operator]
    response = await client.post("/api/x", json={"a": 1})
    assert response.status == 409
    assert response.content_type == "application/problem+json"
    assert await response.json() == {
        "type": "https://balie.invalid/problems/slot-taken",
        "title": "That slot was just taken",
        "status": 409,
        "code": "slot-taken",
        "detail": "1 fields",
    }
    response = await client.post(
        "/api/x", data=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400 and (await response.json())["code"] == "malformed-json"
    response = await client.post("/api/x", data=b"a=1")
    assert response.status == 415 and (await response.json())["code"] == "unsupported-media-type"


async def test_there_is_a_favicon_and_every_page_names_it(tmp_path: Path) -> None:
    """A missing favicon was a 404 on every page load."""
    async with live_server(tmp_path) as live, aiohttp.ClientSession() as http:
        async with http.get(live.url + "/favicon.ico") as response:
            assert response.status == 200 and response.content_type == "image/svg+xml"
            assert (await response.read()).startswith(b"<svg")
        for path in ("/", "/afspraak/demo", "/staff/sign-in", "/call", "/bestaat-niet"):
            async with http.get(live.url + path, headers={"Accept": "text/html"}) as response:
                page = await response.text()
            assert 'rel="icon" href="/static/favicon.svg' in page, path
