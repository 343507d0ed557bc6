"""Fixtures for the staff tests: a staffed server and clients signed in per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.server.staff.support import Staffed, signed_in, staff_client, staffed_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    # the production access logger: what an operator would see (no token in it)
    async with staffed_server(tmp_path, access_log=True) as running:
        yield running


@pytest.fixture
async def client(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that has not signed in."""
    async with staff_client(server) as session:
        yield session


@pytest.fixture
async def anna(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    """The demo specialist (staff member demo-anna), signed in."""
    async with signed_in(server, "specialist") as session:
        yield session


@pytest.fixture
async def planner(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    """The demo planner, signed in."""
    async with signed_in(server, "planner") as session:
        yield session
