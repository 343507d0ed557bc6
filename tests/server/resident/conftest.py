"""Fixtures for the resident page tests: a booking server and a browser without JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.server.booking.support import Booking, booking_server
from tests.server.resident.support import Resident


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Booking]:
    async with booking_server(tmp_path) as live:
        yield live


@pytest.fixture
async def resident(server: Booking) -> AsyncIterator[Resident]:
    # unsafe: the server is on 127.0.0.1, whose cookies aiohttp's jar refuses otherwise
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Resident(server, http)
