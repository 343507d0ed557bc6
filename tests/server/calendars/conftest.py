"""A real Radicale CalDAV server for the calendar tests, on a free loopback port.

Radicale runs as a subprocess (``python -m radicale``) with Basic auth against a plain
htpasswd file, owner-only rights and filesystem storage in a temp dir. If it does not start,
the tests that need it fail (they never skip: there is no mock standing in for it).
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from server.calendars import CalDAVLink
from tests.support import free_port

USER: Final = "medewerker"
PASSWORD: Final = "correct-paard-batterij"
#: the test user's Authorization header
AUTH: Final = aiohttp.encode_basic_auth(USER, PASSWORD)
#: how long Radicale may take to start; only stops a broken run from hanging
START_DEADLINE: Final = 30.0


@dataclass
class Radicale:
    """A running Radicale: its base URL, the test user, and the process."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def link(self, path: str, *, password: str = PASSWORD) -> CalDAVLink:
        return CalDAVLink(url=f"{self.url}{path}", username=USER, password=password)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("OPTIONS", "/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def start_radicale(root: Path) -> Radicale:
    """Start Radicale in ``root`` and wait until it answers HTTP; fail the test if it won't."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    users = root / "users"
    users.write_text(f"{USER}:{PASSWORD}\n")
    config = root / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {users}\n"
        "htpasswd_encryption = plain\n"
        # no artificial delay after a wrong password: the 401 test would only wait
        "delay = 0\n"
        "[rights]\n"
        "type = owner_only\n"
        "[storage]\n"
        f"filesystem_folder = {root / 'collections'}\n"
        "[web]\n"
        "type = none\n"
        "[logging]\n"
        "level = warning\n"
    )
    log = root / "radicale.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    server = Radicale(url=f"http://127.0.0.1:{port}", port=port, process=process, log=log)
    deadline = time.monotonic() + START_DEADLINE
    try:
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Radicale did not start on port {port}:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """One Radicale for the session; each test makes its own calendar in it."""
    server = start_radicale(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale_to_stop(tmp_path: Path) -> Iterator[Radicale]:
    """A Radicale of this test's own, which the test may stop."""
    server = start_radicale(tmp_path / "radicale")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def make_calendar(session: aiohttp.ClientSession, server: Radicale) -> CalDAVLink:
    """A new, empty calendar collection of the test user."""
    auth = {"Authorization": AUTH}
    # The principal's home collection first; 405 means it exists already.
    async with session.request("MKCOL", f"{server.url}/{USER}/", headers=auth) as response:
        assert response.status in (201, 405), response.status
    link = server.link(f"/{USER}/{uuid.uuid4().hex}/")
    async with session.request("MKCALENDAR", link.url, headers=auth) as response:
        assert response.status == 201, response.status
    return link


@pytest.fixture
async def calendar_link(session: aiohttp.ClientSession, radicale: Radicale) -> CalDAVLink:
    return await make_calendar(session, radicale)
