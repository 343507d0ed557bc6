"""A client that sends its request headers a byte at a time (slowloris) is cut off after
BALIE_HEADER_TIMEOUT; everyone else is served as before, WebSockets included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from signaling.roles import Role
from tests.support import SignalClient, balie_serve, config_for, live_server

TIMEOUT = 0.5
#: how long the test waits for the server to act: far longer than the deadline
PATIENCE = 10.0


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True when the server closes the connection without answering."""
    try:
        data = await asyncio.wait_for(reader.read(), PATIENCE)
    except ConnectionError:
        return True  # reset: closed without an answer as well
    return data == b""


async def test_a_connection_whose_headers_never_end_is_closed(tmp_path: Path) -> None:
    config = config_for(tmp_path, header_timeout=TIMEOUT)
    async with live_server(tmp_path, config=config):
        reader, writer = await asyncio.open_connection(config.host, config.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: balie\r\nX-Slow: ")
        # a byte now and then keeps nothing open: the deadline is for the whole header block
        try:
            for _ in range(8):
                await asyncio.sleep(TIMEOUT / 4)
                writer.write(b"a")
                await writer.drain()
        except ConnectionError:
            pass  # the server closed it while we trickled
        assert await _closed_by_server(reader)
        writer.close()


async def test_the_second_request_on_a_connection_is_held_to_the_deadline_too(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path, header_timeout=TIMEOUT)
    async with live_server(tmp_path, config=config):
        reader, writer = await asyncio.open_connection(config.host, config.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: balie\r\n\r\n")
        answer = await asyncio.wait_for(reader.readuntil(b'{"status": "ok"}'), PATIENCE)
        assert answer.startswith(b"HTTP/1.1 200")
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: ba")
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()


async def test_normal_requests_and_websockets_outlive_the_deadline(tmp_path: Path) -> None:
    config = config_for(tmp_path, header_timeout=TIMEOUT)
    async with live_server(tmp_path, config=config) as server, aiohttp.ClientSession() as http:
        async with http.get(server.url + "/healthz") as response:
            assert response.status == 200
        client = await SignalClient.connect(http, server)
        room = server.issue_room()
        await client.join(room.seats[1].token)
        await asyncio.sleep(TIMEOUT * 3)  # a call lasts far longer than any header deadline
        await client.send(type="ping", ts=1.0)
        assert (await client.expect("pong"))["type"] == "pong"
        await client.close()


async def test_balie_serve_keeps_the_deadline_and_serves_calls(tmp_path: Path) -> None:
    """The same through ``balie serve`` itself, which runs on uvloop."""
    async with balie_serve(tmp_path, env={"BALIE_HEADER_TIMEOUT": str(TIMEOUT)}) as balie:
        host, port = balie.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: balie\r\nX-Slow: a")
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()
        async with aiohttp.ClientSession() as http:
            async with http.get(balie.url + "/healthz") as response:
                assert response.status == 200
            token = balie.demo_link(Role.SPECIALIST).split("#token=", 1)[1]
            ws = await http.ws_connect(balie.url.replace("http", "ws") + "/ws", origin=balie.url)
            await ws.send_json({"type": "join", "token": token, "seq": 1})
            joined = await ws.receive_json(timeout=PATIENCE)
            assert joined["type"] == "joined"
            await asyncio.sleep(TIMEOUT * 3)
            await ws.send_json({"type": "ping", "ts": 1.0, "seq": 2})
            kinds: list[str] = []
            while not kinds or kinds[-1] != "pong":
                kinds.append((await ws.receive_json(timeout=PATIENCE))["type"])
            await ws.close()
