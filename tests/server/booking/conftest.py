"""The booking tests' running Balie: one per test, on SQLite in the test's directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server.booking.support import Booking, booking_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Booking]:
    async with booking_server(tmp_path) as live:
        yield live
