"""Fixtures for the IRMA emulator tests; all named ``emulator_*``.

``emulator_live`` runs the emulator as a real aiohttp server on a loopback
port, with its own RSA key and a clock the test moves by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import (
    EMULATOR,
    Emulator,
    EmulatorSettings,
    TokenAuth,
    create_emulator_app,
)
from tests.support import free_port

#: the requestor token the tests' backend uses
EMULATOR_TOKEN = "test-requestor-token-0001"
DISCLOSURE_CONTEXT = "https://irma.app/ld/request/disclosure/v2"
BSN = "irma-demo.gemeente.personalData.bsn"
FULLNAME = "irma-demo.gemeente.personalData.fullname"
DATEOFBIRTH = "irma-demo.gemeente.personalData.dateofbirth"
EMAIL = "irma-demo.sidn-pbdf.email.email"
STREET = "irma-demo.gemeente.address.street"


class ManualClock:
    """Unix seconds that only move when the test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def disclosure(*disjunctions: list[list[object]]) -> dict[str, object]:
    return {"@context": DISCLOSURE_CONTEXT, "disclose": list(disjunctions)}


@dataclass
class LiveEmulator:
    url: str
    app: web.Application
    clock: ManualClock
    http: aiohttp.ClientSession

    @property
    def emulator(self) -> Emulator:
        return self.app[EMULATOR]

    async def start(self, request: object, *, token: str = EMULATOR_TOKEN) -> dict[str, Any]:
        """``POST /session`` as the backend does; the session package."""
        async with self.http.post(
            f"{self.url}/session", json=request, headers={"Authorization": token}
        ) as response:
            assert response.status == 200, await response.text()
            package: dict[str, Any] = await response.json()
            return package

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.get(f"{self.url}{path}", **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def status(self, package: dict[str, Any]) -> str:
        code, body = await self.get(f"/session/{package['token']}/status")
        assert code == 200, body
        assert isinstance(body, str)
        return body

    async def result(self, package: dict[str, Any]) -> dict[str, Any]:
        code, body = await self.get(f"/session/{package['token']}/result")
        assert code == 200, body
        assert isinstance(body, dict)
        return body


@pytest.fixture(scope="session")
def emulator_key() -> rsa.RSAPrivateKey:
    """One signing key for the whole run: generating RSA keys is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock()


async def run_emulator(
    settings_for: Any, clock: ManualClock, key: rsa.RSAPrivateKey
) -> AsyncIterator[LiveEmulator]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings: EmulatorSettings = settings_for(url)
    app = create_emulator_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        # a browser-like cookie jar (unsafe: the default keeps none for 127.0.0.1), so the
        # demo wallet page's cookie binds sessions to this client as to a browser
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            yield LiveEmulator(url, app, clock, http)
    finally:
        await runner.cleanup()


@pytest.fixture
async def emulator_live(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> AsyncIterator[LiveEmulator]:
    def settings_for(url: str) -> EmulatorSettings:
        return EmulatorSettings(
            public_url=url,
            requestor_auth=TokenAuth(EMULATOR_TOKEN),
            jwt_private_key=emulator_key,
            clock=emulator_clock,
        )

    async for live in run_emulator(settings_for, emulator_clock, emulator_key):
        yield live
