"""The requestor client against a small real aiohttp server that speaks the requestor API.

The server here serves canned, properly signed result JWTs; it checks HTTP
shapes and requestor auth. The integration test against the IRMA emulator
lives beside the emulator's tests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_aiohttp import AiohttpServer

from identity.errors import RefusalReason, VerificationRefused, VerifierUnavailable
from identity.irma import HmacAuth, IrmaSettings, IrmaVerifier, PublicKeyAuth, TokenAuth
from identity.verifier import VerificationStatus, Verifier, VerifierHandle
from tests.identity.results import (
    FAKE_BSN,
    NOW,
    POLICY,
    SERVER_KEY,
    TOKEN,
    claims_with,
    sign,
    valid_claims,
)

REQUESTOR_TOKEN = "requestor-secret-token-0123456789"
CLIENT = "ysDohpoySavbHAUDjmpz"
HMAC_SECRET = bytes(range(32))
REQUESTOR_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeIrma:
    """State of the fake irma server: what it answers and what it saw."""

    status: Any = "INITIALIZED"
    result_jwt: str = field(default_factory=lambda: sign(valid_claims()))
    session_status: int = 200
    session_body: Any = None
    known: bool = True
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/session", self.start)
        app.router.add_get("/session/{token}/status", self.get_status)
        app.router.add_get("/session/{token}/result-jwt", self.get_result)
        app.router.add_delete("/session/{token}", self.delete)
        return app

    async def _record(self, request: web.Request) -> None:
        self.seen.append(
            (request.method, request.path, dict(request.headers), await request.read())
        )

    def _unknown(self) -> web.Response:
        body = {
            "status": 400,
            "error": "SESSION_UNKNOWN",
            "description": "Unknown or expired session",
        }
        return web.json_response(body, status=400)

    async def start(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.session_body is not None:
            return web.json_response(self.session_body, status=self.session_status)
        return web.json_response(
            {
                "sessionPtr": {"u": f"https://irma.example/irma/session/{CLIENT}",
                               "irmaqr": "disclosing"},
                "token": TOKEN,
                "frontendRequest": {"authorization": CLIENT, "minProtocolVersion": "1.0",
                                    "maxProtocolVersion": "1.1"},
            }
        )  # fmt: skip

    async def get_status(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(self.status) if self.known else self._unknown()

    async def get_result(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text=self.result_jwt) if self.known else self._unknown()

    async def delete(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response() if self.known else self._unknown()


@pytest.fixture
def fake() -> FakeIrma:
    return FakeIrma()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def verifier_for(
    server_fixture: AiohttpServer,
    fake: FakeIrma,
    http: aiohttp.ClientSession,
    auth: TokenAuth | HmacAuth | PublicKeyAuth | None = None,
    *,
    demo: bool = False,
) -> IrmaVerifier:
    server = await server_fixture(fake.app())
    settings = IrmaSettings(
        url=str(server.make_url("/")),
        auth=auth or TokenAuth(REQUESTOR_TOKEN),
        result_key=SERVER_KEY.public_key(),
        demo=demo,
        validity=60,
        timeout=90,
    )
    return IrmaVerifier(http, settings, clock=lambda: float(NOW))


async def test_token_auth_start(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier: Verifier = await verifier_for(aiohttp_server, fake, http)  # fits the interface
    started = await verifier.start(POLICY)
    method, path, headers, body = fake.seen[0]
    assert (method, path) == ("POST", "/session")
    assert headers["Authorization"] == REQUESTOR_TOKEN  # raw, no "Bearer"
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["validity"] == 60 and sent["timeout"] == 90
    assert sent["request"]["@context"] == "https://irma.app/ld/request/disclosure/v2"
    assert sent["request"]["disclose"][0][0] == ["pbdf.gemeente.personalData.bsn"]
    # the browser gets the pointer and frontend request, never the requestor token
    assert set(started.browser_payload) == {"sessionPtr", "frontendRequest"}
    assert TOKEN not in json.dumps(started.browser_payload)
    assert started.handle.reference == TOKEN and started.handle.verifier == "yivi"
    assert TOKEN not in repr(started)


async def test_demo_mode_asks_demo_ids(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http, demo=True)
    started = await verifier.start(POLICY)
    sent = json.loads(fake.seen[0][3])
    assert sent["request"]["disclose"][0][0] == ["irma-demo.gemeente.personalData.bsn"]
    assert started.handle.demo is True


async def test_hmac_auth_sends_an_hs256_jwt(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http, HmacAuth("balie", HMAC_SECRET))
    await verifier.start(POLICY)
    _, _, headers, body = fake.seen[0]
    assert headers["Content-Type"] == "text/plain" and "Authorization" not in headers
    token = body.decode()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "balie"}
    claims = jwt.decode(
        token,
        HMAC_SECRET,
        algorithms=["HS256"],
        issuer="balie",
        # iat is the injected clock (in the future); the irma server checks it, not this test
        options={"require": ["iat", "iss", "sub"], "verify_iat": False},
    )
    assert claims["sub"] == "verification_request"
    # back-dated a few seconds: irmago refuses an iat even one second after its own clock
    # (golang-jwt StandardClaims.Valid, no leeway) and one older than max_request_age (300 s)
    assert NOW - 30 <= claims["iat"] < NOW
    assert claims["sprequest"]["request"]["disclose"][1] == [["pbdf.gemeente.personalData.over18"]]


async def test_publickey_auth_sends_an_rs256_jwt(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http, PublicKeyAuth("balie", REQUESTOR_KEY))
    await verifier.start(POLICY)
    token = fake.seen[0][3].decode()
    claims = jwt.decode(
        token,
        REQUESTOR_KEY.public_key(),
        algorithms=["RS256"],
        issuer="balie",
        options={"require": ["iat", "iss", "sub"], "verify_iat": False},
    )
    assert claims["sub"] == "verification_request"
    assert NOW - 30 <= claims["iat"] < NOW
    assert claims["sprequest"]["validity"] == 60


def test_hmac_key_from_base64_and_short_secrets() -> None:
    from identity.errors import ConfigurationError

    auth = HmacAuth.from_base64("balie", base64.b64encode(HMAC_SECRET).decode())
    assert auth.secret == HMAC_SECRET and "secret" not in repr(auth).replace("secret=", "")
    with pytest.raises(ConfigurationError):
        HmacAuth("balie", b"short")
    with pytest.raises(ConfigurationError):
        HmacAuth.from_base64("balie", "***")
    assert REQUESTOR_TOKEN not in repr(TokenAuth(REQUESTOR_TOKEN))


#: 32 bytes whose base64 has '+', '/' and padding, so every dialect looks different
DIALECT_SECRET = bytes([0xFB, 0xFF, 0xBF]) * 10 + b"\xfe\xff"


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(DIALECT_SECRET).decode(),
        base64.b64encode(DIALECT_SECRET).decode().rstrip("="),
        base64.urlsafe_b64encode(DIALECT_SECRET).decode(),
        base64.urlsafe_b64encode(DIALECT_SECRET).decode().rstrip("="),
        base64.b64encode(DIALECT_SECRET).decode() + "\n",
    ],
    ids=["standard", "standard unpadded", "url-safe", "url-safe unpadded", "with a newline"],
)
def test_hmac_keys_in_every_base64_dialect_irmago_reads(key: str) -> None:
    # irmago's requestor config takes any of the four (internal/common Base64Decode)
    assert "+" in base64.b64encode(DIALECT_SECRET).decode()
    assert HmacAuth.from_base64("balie", key).secret == DIALECT_SECRET


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(DIALECT_SECRET).decode().replace("/", "_"),  # two alphabets mixed
        base64.b64encode(DIALECT_SECRET).decode()[:-3],  # a length no dialect has
        "not base64 at all!",
    ],
)
def test_hmac_keys_that_no_dialect_reads_are_refused(key: str) -> None:
    from identity.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not base64"):
        HmacAuth.from_base64("balie", key)


@pytest.mark.parametrize(
    ("irma_status", "status"),
    [
        ("INITIALIZED", VerificationStatus.WAITING),
        ("PAIRING", VerificationStatus.PAIRING),
        ("CONNECTED", VerificationStatus.CONNECTED),
        ("DONE", VerificationStatus.DONE),
        ("CANCELLED", VerificationStatus.CANCELLED),
        ("TIMEOUT", VerificationStatus.TIMEOUT),
    ],
)
async def test_status_polling(
    aiohttp_server: AiohttpServer,
    fake: FakeIrma,
    http: aiohttp.ClientSession,
    irma_status: str,
    status: VerificationStatus,
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    started = await verifier.start(POLICY)
    fake.status = irma_status
    assert await verifier.status(started.handle) == status
    assert fake.seen[-1][:2] == ("GET", f"/session/{TOKEN}/status")


async def test_status_of_a_forgotten_session_is_timeout_and_nonsense_is_unavailable(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    started = await verifier.start(POLICY)
    fake.known = False
    assert await verifier.status(started.handle) is VerificationStatus.TIMEOUT
    fake.known, fake.status = True, "SOMETHING"
    with pytest.raises(VerifierUnavailable, match="unknown session status"):
        await verifier.status(started.handle)
    fake.status = {"status": "DONE"}
    with pytest.raises(VerifierUnavailable):
        await verifier.status(started.handle)


async def test_result_is_fetched_and_checked(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    started = await verifier.start(POLICY)
    identity = await verifier.result(started.handle)
    assert fake.seen[-1][:2] == ("GET", f"/session/{TOKEN}/result-jwt")
    assert identity.values["bsn"] == FAKE_BSN and identity.purpose == POLICY.purpose
    fake.result_jwt = json.dumps(sign(valid_claims()))  # JSON-quoted is tolerated
    assert (await verifier.result(started.handle)).values["bsn"] == FAKE_BSN


async def test_a_result_for_another_session_is_refused(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    started = await verifier.start(POLICY)
    fake.result_jwt = sign(claims_with(token="BBBBBBBBBBBBBBBBBBBB"))
    with pytest.raises(VerificationRefused) as caught:
        await verifier.result(started.handle)
    assert caught.value.reason is RefusalReason.SESSION_MISMATCH


async def test_a_demo_handle_is_not_honoured_by_a_production_verifier(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http, demo=False)
    fake.result_jwt = sign(valid_claims(scheme="irma-demo"))
    handle = VerifierHandle("yivi", TOKEN, POLICY, demo=True)
    with pytest.raises(VerificationRefused) as caught:
        await verifier.result(handle)
    assert caught.value.reason is RefusalReason.DEMO_CREDENTIAL


async def test_cancel_deletes_the_session_and_tolerates_a_gone_one(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    started = await verifier.start(POLICY)
    await verifier.cancel(started.handle)
    assert fake.seen[-1][:2] == ("DELETE", f"/session/{TOKEN}")
    fake.known = False
    await verifier.cancel(started.handle)
    with pytest.raises(VerifierUnavailable, match="unknown or expired"):
        await verifier.result(started.handle)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            403,
            {"status": 403, "error": "UNAUTHORIZED", "description": "x"},
            "HTTP 403 UNAUTHORIZED",
        ),
        (500, "<html>oops " + REQUESTOR_TOKEN + "</html>", r"HTTP 500 \(no error code\)"),
        (
            200,
            {"token": "short", "sessionPtr": {"u": "x", "irmaqr": "disclosing"}},
            "no valid token",
        ),
        (200, {"token": TOKEN, "sessionPtr": "x"}, "no valid sessionPtr"),
        (200, [1, 2], "not an object"),
    ],
    ids=["unauthorized", "server-error-html", "bad-token", "bad-pointer", "not-an-object"],
)
async def test_bad_answers_to_start_are_unavailable(
    aiohttp_server: AiohttpServer,
    fake: FakeIrma,
    http: aiohttp.ClientSession,
    status: int,
    body: Any,
    message: str,
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    fake.session_status, fake.session_body = status, body
    with pytest.raises(VerifierUnavailable, match=message) as caught:
        await verifier.start(POLICY)
    assert REQUESTOR_TOKEN not in str(caught.value) and TOKEN not in str(caught.value)


async def test_an_unreachable_server_is_unavailable(http: aiohttp.ClientSession) -> None:
    settings = IrmaSettings(
        url="http://127.0.0.1:9",
        auth=TokenAuth(REQUESTOR_TOKEN),
        result_key=SERVER_KEY.public_key(),
    )
    verifier = IrmaVerifier(http, settings)
    with pytest.raises(VerifierUnavailable, match=r"ClientConnectorError|ClientOSError"):
        await verifier.start(POLICY)


async def test_a_foreign_handle_is_refused_before_any_request(
    aiohttp_server: AiohttpServer, fake: FakeIrma, http: aiohttp.ClientSession
) -> None:
    verifier = await verifier_for(aiohttp_server, fake, http)
    for handle in (
        VerifierHandle("openid4vp", TOKEN, POLICY),
        VerifierHandle("yivi", "../../publickey", POLICY),
    ):
        with pytest.raises(VerifierUnavailable):
            await verifier.status(handle)
    assert fake.seen == []
