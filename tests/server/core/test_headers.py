"""Every route answers with the security headers, errors included (issue 5, must-show 4).

The crawl walks the application's router (sub-applications too), so a route
added later is checked without touching this test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.support import LiveServer, live_server

REQUIRED = {
    "Strict-Transport-Security": re.compile(r"max-age=\d{7,}"),
    "X-Content-Type-Options": re.compile(r"^nosniff$"),
    "Referrer-Policy": re.compile(r"^same-origin$"),
    "X-Frame-Options": re.compile(r"^DENY$"),
    "Content-Security-Policy": re.compile(r"frame-ancestors 'none'"),
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        yield live


def _routes(app: web.Application, prefix: str = "") -> Iterator[tuple[str, str]]:
    for resource in app.router.resources():
        info = resource.get_info()
        if "app" in info:  # a mounted sub-application
            yield from _routes(info["app"], prefix + info.get("prefix", ""))
            continue
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        # fill every {placeholder} with a harmless value of the id pattern
        path = re.sub(r"\{[^}]+\}", "x_1", path)
        for route in resource:
            if route.method != "HEAD":
                yield route.method, prefix + path


async def test_every_route_and_every_error_carries_the_security_headers(
    server: LiveServer,
) -> None:
    checked: list[tuple[str, str, int]] = []
    targets = sorted(set(_routes(server.app)))
    targets += [("GET", "/bestaat-niet"), ("POST", "/"), ("GET", "/static/geen.css")]
    async with aiohttp.ClientSession() as http:
        for method, path in targets:
            async with http.request(
                "GET" if method == "*" else method,
                server.url + path,
                headers={"Accept": "text/html"},
                allow_redirects=False,
            ) as response:
                for name, pattern in REQUIRED.items():
                    value = response.headers.get(name, "")
                    assert pattern.search(value), f"{method} {path} ({response.status}): {name}"
                csp = response.headers["Content-Security-Policy"]
                assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
                if response.content_type == "text/html":
                    # pages may show personal data: never cached
                    assert response.headers.get("Cache-Control") == "no-store", path
                checked.append((method, path, response.status))
    statuses = {status for _, _, status in checked}
    # the crawl reached pages, API errors and the error pages, not only one kind
    assert 200 in statuses and 404 in statuses and 405 in statuses, checked
    assert len(checked) >= 15, checked


async def _moved(request: web.Request) -> web.StreamResponse:
    moved = web.HTTPSeeOther("/elders")
    # the demo wallet sets its browser cookie on the redirect that follows "open"
    moved.set_cookie("stempel", "proef-123", path="/elders", httponly=True, samesite="Strict")
    raise moved


async def test_a_raised_redirect_goes_out_as_a_redirect_with_the_headers(tmp_path: Path) -> None:
    """A handler (or a sub-application such as the demo wallet) that raises a redirect must
    redirect, not show an error page (the demo wallet once ended on "Foutcode 303"), and
    keep the cookies it sets."""
    async with (
        live_server(tmp_path, routes=[("POST", "/verhuisd", _moved)]) as live,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(
            live.url + "/verhuisd", headers={"Accept": "text/html"}, allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/elders"
            assert response.cookies["stempel"].value == "proef-123"
            assert response.cookies["stempel"]["path"] == "/elders"
            for name, pattern in REQUIRED.items():
                assert pattern.search(response.headers.get(name, "")), name


async def test_a_405_says_which_methods_are_allowed(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.delete(server.url + "/healthz") as response:
            assert response.status == 405
            assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}
            assert response.content_type == "application/problem+json"


async def _busy_page(request: web.Request) -> web.Response:
    return web.Response(status=503, text="<p>Het lukt nu even niet</p>", content_type="text/html")


async def _busy(request: web.Request) -> web.Response:
    raise web.HTTPServiceUnavailable()


async def test_every_503_says_when_to_ask_again(tmp_path: Path) -> None:
    """However a 503 comes about (a feature's own page, a raised one), it carries
    ``Retry-After``, as the problem JSON of an unavailable database does."""
    routes = [("GET", "/druk", _busy_page), ("GET", "/api/druk", _busy)]
    async with (
        live_server(tmp_path, routes=routes) as live,
        aiohttp.ClientSession() as http,
    ):
        for path in ("/druk", "/api/druk"):
            async with http.get(live.url + path, headers={"Accept": "text/html"}) as response:
                assert response.status == 503
                assert response.headers["Retry-After"].isdigit(), path
