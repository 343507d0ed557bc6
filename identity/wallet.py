"""A scripted wallet for tests and demos, speaking the app side of the IRMA emulator.

It does what the Yivi app does over HTTP (research §3.1): ``GET {u}/`` with the
protocol headers and its own 20-character ``Authorization``, waits through PIN
pairing when the frontend asked for it, and then answers. Instead of
zero-knowledge proofs it posts the emulator-only body (research §3.2), so it
works against :mod:`identity.emulator` and never against a real irma server::

    wallet = TestWallet(http)
    status = await wallet.disclose(
        session_ptr, {"irma-demo.gemeente.personalData.bsn": "999999990"}
    )
    assert status == "VALID"

Values are test values; nothing here logs them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp

#: the app protocol version the wallet speaks (the real server's minimum)
PROTOCOL_VERSION: Final = "2.8"
_FINAL: Final = frozenset({"DONE", "CANCELLED", "TIMEOUT"})

SessionPointer = Mapping[str, object] | str
#: called with the pairing code while the session waits for the frontend
PairingHandler = Callable[[str], Awaitable[None]]


class WalletError(Exception):
    """The server refused a wallet call; ``error`` is its code (e.g. ``UNEXPECTED_REQUEST``)."""

    def __init__(self, status: int, error: str, message: str = "") -> None:
        super().__init__(f"{status} {error}" + (f": {message}" if message else ""))
        self.status = status
        self.error = error


@dataclass(frozen=True)
class _Wanted:
    id: str
    value: str | None
    not_null: bool


def session_url(session_ptr: SessionPointer) -> str:
    """The ``u`` of a session pointer (or ``u`` itself), without a trailing slash."""
    u = session_ptr if isinstance(session_ptr, str) else session_ptr.get("u")
    if not isinstance(u, str) or not u.startswith(("http://", "https://")):
        raise ValueError("a session pointer needs an absolute http(s) 'u'")
    return u.rstrip("/")


def choose(
    request: Mapping[str, object], values: Mapping[str, str | None]
) -> list[list[dict[str, str | None]]]:
    """Per disjunction, the first inner conjunction the wallet holds values for.

    A conjunction that also meets the request's fixed values and ``notNull``
    wins over one that does not; an empty (optional) conjunction is chosen only
    when the wallet holds no other. Holding nothing gives an empty choice, which
    the emulator answers with ``MISSING_ATTRIBUTES`` unless the item is optional.
    """
    disclose = request.get("disclose")
    if not isinstance(disclose, list):
        raise ValueError("the session request has no 'disclose' list")
    chosen: list[list[dict[str, str | None]]] = []
    for disjunction in disclose:
        if not isinstance(disjunction, list) or not all(isinstance(c, list) for c in disjunction):
            raise ValueError("'disclose' must be a list of lists of conjunctions")
        options = [[_wanted(item) for item in conjunction] for conjunction in disjunction]
        held = [c for c in options if c and all(w.id in values for w in c)]
        fitting = [c for c in held if all(_fits(w, values[w.id]) for w in c)]
        pick = (fitting or held or [[]])[0]
        chosen.append([{"id": w.id, "rawvalue": values[w.id]} for w in pick])
    return chosen


def _wanted(item: object) -> _Wanted:
    if isinstance(item, str):
        return _Wanted(item, None, False)
    if isinstance(item, Mapping) and isinstance(item.get("type"), str):
        value = item.get("value")
        return _Wanted(
            str(item["type"]),
            value if isinstance(value, str) else None,
            item.get("notNull") is True,
        )
    raise ValueError("unexpected attribute request in 'disclose'")


def _fits(wanted: _Wanted, value: str | None) -> bool:
    if value is None:
        return not wanted.not_null and wanted.value is None
    return wanted.value is None or wanted.value == value


class TestWallet:
    """One wallet app with its own ``Authorization``; reuse it for several sessions."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        authorization: str | None = None,
        poll_interval_s: float = 0.05,
        deadline_s: float = 30.0,
    ) -> None:
        self._http = http
        alphabet = string.ascii_letters + string.digits
        self.authorization = authorization or "".join(secrets.choice(alphabet) for _ in range(20))
        self._poll_interval_s = poll_interval_s
        #: only stops a broken test from hanging; nothing measures speed
        self._deadline_s = deadline_s
        #: the code of the last pairing, for a test that types it into the page
        self.pairing_code: str | None = None

    async def disclose(
        self,
        session_ptr: SessionPointer,
        values: Mapping[str, str | None],
        *,
        extra: Mapping[str, str | None] | None = None,
        on_pairing: PairingHandler | None = None,
    ) -> str:
        """Connect, pair if needed, and disclose; returns the ``proofStatus``.

        ``values`` maps attribute ids to what the wallet holds (``None`` is a
        null attribute). ``extra`` attributes go in a trailing array, as
        attributes nobody asked for.
        """
        u = session_url(session_ptr)
        request = await self.connect(u, on_pairing=on_pairing)
        choice = choose(request, values)
        if extra:
            choice.append([{"id": k, "rawvalue": v} for k, v in extra.items()])
        body = await self._call("POST", f"{u}/proofs", json_body={"emulatorDisclosure": choice})
        if not isinstance(body, Mapping) or not isinstance(body.get("proofStatus"), str):
            raise WalletError(200, "MALFORMED_RESPONSE", "no proofStatus in the answer")
        return str(body["proofStatus"])

    async def connect(
        self, session_ptr: SessionPointer, *, on_pairing: PairingHandler | None = None
    ) -> Mapping[str, object]:
        """``GET {u}/``, then pairing if asked; returns the disclosure request."""
        u = session_url(session_ptr)
        body = await self._first_get(u)
        request = body.get("request")
        if isinstance(request, Mapping):
            return request
        options = body.get("options")
        code = options.get("pairingCode") if isinstance(options, Mapping) else None
        if not isinstance(code, str):
            raise WalletError(200, "MALFORMED_RESPONSE", "neither a request nor a pairing code")
        self.pairing_code = code
        if on_pairing is not None:
            await on_pairing(code)
        await self._wait_until_connected(u)
        request = await self._call("GET", f"{u}/request")
        if not isinstance(request, Mapping):
            raise WalletError(200, "MALFORMED_RESPONSE", "the request is not an object")
        return request

    async def refuse(self, session_ptr: SessionPointer) -> None:
        """Look at the request, then say no (``DELETE {u}``): the session is ``CANCELLED``."""
        u = session_url(session_ptr)
        await self._first_get(u)
        await self._call("DELETE", u)

    async def _first_get(self, u: str) -> Mapping[str, object]:
        body = await self._call(
            "GET",
            f"{u}/",
            headers={
                "X-IRMA-MinProtocolVersion": PROTOCOL_VERSION,
                "X-IRMA-MaxProtocolVersion": PROTOCOL_VERSION,
            },
        )
        if not isinstance(body, Mapping):
            raise WalletError(200, "MALFORMED_RESPONSE", "the session answer is not an object")
        return body

    async def _wait_until_connected(self, u: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline_s
        while True:
            status = await self._call("GET", f"{u}/status")
            if status == "CONNECTED":
                return
            if status in _FINAL:
                raise WalletError(200, str(status), "the session ended during pairing")
            if loop.time() > deadline:
                raise TimeoutError("pairing was not completed in time")
            await asyncio.sleep(self._poll_interval_s)

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> object:
        all_headers = {"Authorization": self.authorization, **(headers or {})}
        async with self._http.request(
            method, url, json=json_body, headers=all_headers, allow_redirects=False
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise _error(response.status, text)
            if not text:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError as exc:
                raise WalletError(response.status, "MALFORMED_RESPONSE", "not JSON") from exc


def _error(status: int, text: str) -> WalletError:
    try:
        body = json.loads(text)
    except ValueError:
        return WalletError(status, "HTTP_ERROR")
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        message = body.get("message")
        return WalletError(status, body["error"], message if isinstance(message, str) else "")
    return WalletError(status, "HTTP_ERROR")
