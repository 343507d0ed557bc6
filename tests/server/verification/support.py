"""What the identity tests share: the obviously fake values the demo wallet discloses (the
leak checks look for them), a browser of the resident's with its own browser-session cookie,
and the identity step as the page takes it (start, the wallet discloses, finish)."""

from __future__ import annotations

from typing import Any, Final

import aiohttp

from identity.wallet import TestWallet
from server.call.rooms import IssuedRoom
from signaling.roles import Role

FAKE_BSN: Final = "999999990"
FAKE_NAME: Final = "Test Persoon"
DEMO_VALUES: Final = {
    "irma-demo.gemeente.personalData.bsn": FAKE_BSN,
    "irma-demo.gemeente.personalData.fullname": FAKE_NAME,
}


class Browser:
    """One browser: its own cookie jar, so its own browser-session id. ``url`` is the Balie
    it asks (a test may send it to another node, as a load balancer would)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # unsafe: the jar otherwise ignores cookies of an IP-address host (127.0.0.1)
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def open(self, room: str) -> None:
        async with self.http.get(f"{self.url}/call/{room}") as response:
            assert response.status == 200

    async def call(
        self, method: str, room: str, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        url = f"{self.url}/api/rooms/{room}/verification{path}"
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.request(method, url, headers=headers, json=body) as response:
            return response.status, await response.json()

    async def start(self, room: IssuedRoom, values: dict[str, str]) -> None:
        """Start the identity step and let the wallet disclose ``values``; not finished."""
        status, started = await self.call(
            "POST", room.room, "/session", room.seat(Role.RESIDENT).token, {}
        )
        assert status == 200, started
        assert set(started) == {"sessionPtr", "frontendRequest"}  # no requestor token
        await TestWallet(self.http).disclose(started["sessionPtr"], values)

    async def finish(self, room: IssuedRoom) -> tuple[int, Any]:
        """Ask for the result, as the page does once the wallet is done."""
        return await self.call("POST", room.room, "/result", room.seat(Role.RESIDENT).token, {})

    async def close(self) -> None:
        await self.http.close()


async def verify(browser: Browser, room: IssuedRoom, values: dict[str, str]) -> tuple[int, Any]:
    """The whole identity step in ``browser``; the answer to finishing it."""
    await browser.start(room, values)
    return await browser.finish(room)
