"""Dates at the ends of the calendar on the resident's pages: a readable refusal, never a
5xx (``OverflowError`` in the slot engine's wall-clock arithmetic before)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.support import live_server

EDGES = ("9999-12-31", "0001-01-01", "10000-01-01", "2100-01-01", "1999-12-31")


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        return response.status


async def test_the_resident_pages_refuse_dates_off_the_calendar(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server, aiohttp.ClientSession() as http:
        base = f"{server.url}/afspraak/demo/kies/bijstand"
        for edge in EDGES:
            assert await _status(http, f"{base}?week={edge}") == 400, edge
            status = await _status(http, f"{base}/{edge}")
            assert status in (400, 404), (edge, status)  # 404: not a date-shaped path
