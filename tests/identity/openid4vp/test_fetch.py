"""The status list fetcher: the SSRF rules as functions, and the aiohttp fetcher against a
real local aiohttp server for the limits (size, time, redirects, media type)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity.errors import FetchError
from identity.openid4vp.fetch import (
    MEDIA_TYPE,
    AiohttpStatusListFetcher,
    check_url,
    is_public_address,
    refuse_non_public,
)

LIMIT = 1024


def loopback_only(address: str) -> None:
    """The tests' address rule: the local test server, nothing else."""
    if address not in ("127.0.0.1", "::1"):
        raise FetchError("address", "the tests fetch from loopback only")


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",  # noqa: S104 (an address refused, not one bound)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "not an address",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(FetchError) as refused:
        refuse_non_public(address)
    assert refused.value.rule == "address"


@pytest.mark.parametrize("address", ["8.8.8.8", "145.21.1.1", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("http://status.test/list", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://status.test/", "scheme"),
        ("https://user:pass@status.test/list", "url"),
        ("https:///list", "url"),
        ("https://10.0.0.1/list", "address"),
        ("https://[::1]:8443/list", "address"),
        ("https://status.test:99999/list", "url"),
    ],
)
def test_urls_that_break_a_rule_are_refused(uri: str, rule: str) -> None:
    with pytest.raises(FetchError) as refused:
        check_url(uri, address_rule=refuse_non_public)
    assert refused.value.rule == rule


def test_an_https_name_passes_the_url_rules() -> None:
    assert check_url("https://status.test/lists/1", address_rule=refuse_non_public) == (
        "status.test"
    )


async def _ok(request: web.Request) -> web.Response:
    return web.Response(body=b"header.payload.signature", content_type=MEDIA_TYPE)


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * (LIMIT + 1), content_type=MEDIA_TYPE)


async def _streamed_big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": MEDIA_TYPE})
    await response.prepare(request)
    for _ in range(4):
        await response.write(b"x" * 512)
    await response.write_eof()
    return response


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(1.0)
    return await _ok(request)


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html></html>", content_type="text/html")


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/big", _big)
    app.router.add_get("/streamed-big", _streamed_big)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/html", _html)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def fetcher() -> AsyncIterator[AiohttpStatusListFetcher]:
    fetcher = AiohttpStatusListFetcher(
        max_bytes=LIMIT, timeout=0.3, address_rule=loopback_only, allow_http=True
    )
    yield fetcher
    await fetcher.close()


async def test_the_fetcher_reads_a_status_list(
    server: TestServer, fetcher: AiohttpStatusListFetcher
) -> None:
    assert await fetcher.fetch(str(server.make_url("/ok"))) == b"header.payload.signature"


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/big", "size"),
        ("/streamed-big", "size"),
        ("/slow", "time"),
        ("/redirect", "http"),
        ("/html", "media-type"),
        ("/missing", "http"),
    ],
)
async def test_the_fetcher_refuses_what_breaks_a_limit(
    server: TestServer, fetcher: AiohttpStatusListFetcher, path: str, rule: str
) -> None:
    with pytest.raises(FetchError) as refused:
        await fetcher.fetch(str(server.make_url(path)))
    assert refused.value.rule == rule


async def test_by_default_the_fetcher_refuses_the_local_server(server: TestServer) -> None:
    fetcher = AiohttpStatusListFetcher(allow_http=True)
    try:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(str(server.make_url("/ok")))
        assert refused.value.rule == "address"
        # by name too: the resolver's answer is vetted before connecting
        url = str(server.make_url("/ok")).replace("127.0.0.1", "localhost")
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(url)
        assert refused.value.rule == "address"
    finally:
        await fetcher.close()


async def test_by_default_the_fetcher_refuses_plain_http(server: TestServer) -> None:
    fetcher = AiohttpStatusListFetcher(address_rule=loopback_only)
    try:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(str(server.make_url("/ok")))
        assert refused.value.rule == "scheme"
    finally:
        await fetcher.close()
