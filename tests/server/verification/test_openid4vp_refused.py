"""Every check of the OpenID4VP verifier refuses its broken presentation through the running
server: the wallet (libraries not written here) answers over HTTP, the resident's page asks
for the verdict, and gets a specific refusal (the reason's code and the failed check) while
nothing changes: the resident is not verified and not admitted. No fake value appears in
any answer, log line or table.

The presentations are the unit tests' mutations (tests/identity/openid4vp/), made here for
a live transaction's nonce and client id.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import RefusalReason
from identity.openid4vp.pid import MDOC_NAMESPACE
from server.call.rooms import IssuedRoom
from signaling.roles import Role
from tests.identity.openid4vp.support import (
    FAKE_VALUES,
    WalletRequest,
    b64url,
    device_response,
    holder_key,
    issue,
    nl_pid_claims,
    present,
    rebind,
    sign_jws,
    status_list_token,
    strip_kb,
    transcript,
)
from tests.server.verification.openid4vp_support import (
    DISCLOSE,
    Pkis,
    ScriptedWallet,
    StatusLists,
    make_pkis,
    openid4vp_balie,
)
from tests.server.verification.support import Browser
from tests.server.verification.test_openid4vp_flow import assert_no_value_anywhere, quiet_wallet
from tests.support import LiveServer, SignalClient

STATUS_URI = "https://status.test/lists/1"


@dataclass
class Case:
    """One attempt: the wallet, what it was asked, the issuers, the status lists served."""

    wallet: ScriptedWallet
    request: WalletRequest
    pkis: Pkis
    lists: StatusLists

    @property
    def holder(self) -> Any:
        return self.wallet.holder

    def issuance(self, pki: Any = None, **plain: object) -> str:
        return issue(pki or self.pkis.nl, nl_pid_claims(time.time(), **plain), self.holder)

    def present(self, issuance: str, *, nonce: str | None = None, aud: str | None = None) -> str:
        return present(
            issuance,
            DISCLOSE,
            self.holder,
            nonce=nonce or self.request.nonce,
            aud=aud or self.request.client_id,
        )

    def good(self) -> str:
        return self.present(self.issuance())

    def rebind(self, without_kb: str, holder: Any = None, **fields: Any) -> str:
        fields.setdefault("nonce", self.request.nonce)
        fields.setdefault("aud", self.request.client_id)
        return rebind(without_kb, holder or self.holder, **fields)

    def sd_jwt(self, presentation: str) -> dict[str, str]:
        return self.request.encrypted({"pid_nl": [presentation]})

    def mdoc(self, **knobs: Any) -> dict[str, str]:
        encoded = self.wallet.mdoc_pid(self.request, knobs.pop("pki", self.pkis.eu), **knobs)
        return self.request.encrypted({"pid_mdoc": [encoded]})


def _parts(presentation: str) -> list[str]:
    return presentation.split("~")


def _decode(part: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=="))
    return data


def _resign(c: Case, change: Callable[[dict[str, Any]], None]) -> str:
    parts = _parts(c.good())
    header, payload = (_decode(p) for p in parts[0].split(".")[:2])
    change(payload)
    parts[0] = sign_jws(c.pkis.nl.jwk, payload, header)
    return c.rebind("~".join(parts[:-1]) + "~")


def _reheader(c: Case, **header: object) -> str:
    parts = _parts(c.good())
    old, payload = (_decode(p) for p in parts[0].split(".")[:2])
    parts[0] = sign_jws(c.pkis.nl.jwk, payload, {**old, **header})
    return c.rebind("~".join(parts[:-1]) + "~")


def _forged(c: Case) -> str:
    parts = _parts(c.good())
    header, payload = (_decode(p) for p in parts[0].split(".")[:2])
    parts[0] = sign_jws(c.pkis.rogue.jwk, payload, header)
    return c.rebind("~".join(parts[:-1]) + "~")


def _unsigned(c: Case, alg: str) -> str:
    parts = _parts(c.good())
    header = {**_decode(parts[0].split(".")[0]), "alg": alg}
    signing_input = f"{b64url(json.dumps(header).encode())}.{parts[0].split('.')[1]}"
    signature = ""
    if alg == "HS256":  # keyed with the issuer's public key: the key-confusion attack
        secret = c.pkis.nl.leaf.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signature = b64url(hmac.new(secret, signing_input.encode(), "sha256").digest())
    parts[0] = f"{signing_input}.{signature}"
    return c.rebind("~".join(parts[:-1]) + "~")


def _tampered(c: Case) -> str:
    parts = _parts(c.good())
    for i, disclosure in enumerate(parts[1:-1], start=1):
        decoded = json.loads(base64.urlsafe_b64decode(disclosure + "=="))
        if decoded[1] == "bsn":
            parts[i] = b64url(json.dumps([decoded[0], "bsn", "111222333"]).encode())
    return c.rebind("~".join(parts[:-1]) + "~")


def _duplicated(c: Case) -> str:
    parts = _parts(c.good())
    return c.rebind("~".join([*parts[:-1], parts[1]]) + "~")


def _foreign(c: Case) -> str:
    other = _parts(c.good())
    parts = _parts(c.good())
    return c.rebind("~".join([*parts[:-1], other[1]]) + "~")


def _removed_after_binding(c: Case) -> str:
    parts = _parts(c.good())
    kept = [p for p in parts[1:-1] if json.loads(base64.urlsafe_b64decode(p + "=="))[1] != "bsn"]
    return "~".join([parts[0], *kept, parts[-1]])


def _overriding(c: Case) -> str:
    encoded = b64url(json.dumps(["salt-salt-salt", "iss", "https://evil.test"]).encode())
    digest = b64url(hashlib.sha256(encoded.encode()).digest())
    parts = _parts(_resign(c, lambda payload: payload["_sd"].append(digest)))
    return c.rebind("~".join([*parts[:-1], encoded]) + "~")


def _status(c: Case, body: bytes | None, uri: str = STATUS_URI) -> str:
    if body is not None:
        c.lists.bodies[uri] = body
    return c.present(c.issuance(status={"status_list": {"idx": 1, "uri": uri}}))


def _other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _tamper_value(document: dict[str, Any]) -> None:
    items = document["issuerSigned"]["nameSpaces"][MDOC_NAMESPACE]
    item = cbor2.loads(items[0].value)
    item["elementValue"] = "Ander"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))


def _mdoc_session(c: Case, **changes: Any) -> dict[str, str]:
    """An mdoc signed over a session transcript with ``changes`` (another nonce, ...)."""
    r = c.request
    values: dict[str, Any] = {
        "client_id": r.client_id,
        "nonce": r.nonce,
        "thumbprint": r.thumbprint,
        "response_uri": r.response_uri,
    }
    values.update(changes)
    session = transcript(**values)
    encoded = device_response(c.pkis.eu, c.wallet.device, session)
    return c.request.encrypted({"pid_mdoc": [encoded]})


S = RefusalReason
NOW = int(time.time())
#: (name, the wallet's form, the refusal's reason, the failed check)
REFUSED: list[tuple[str, Callable[[Case], dict[str, str]], RefusalReason, str]] = [
    ("wrong issuer signature", lambda c: c.sd_jwt(_forged(c)),
     S.PRESENTATION_INVALID, "sd-jwt.issuer.signature"),
    ("untrusted issuer chain", lambda c: c.sd_jwt(c.present(c.issuance(c.pkis.rogue))),
     S.WALLET_ISSUER_UNTRUSTED, "sd-jwt.issuer.chain"),
    ("issuer trusted for another type", lambda c: c.sd_jwt(c.present(c.issuance(c.pkis.eu))),
     S.WALLET_ISSUER_UNTRUSTED, "sd-jwt.issuer.chain"),
    ("alg none", lambda c: c.sd_jwt(_unsigned(c, "none")),
     S.PRESENTATION_INVALID, "sd-jwt.issuer.alg"),
    ("HS256 keyed with the public key", lambda c: c.sd_jwt(_unsigned(c, "HS256")),
     S.PRESENTATION_INVALID, "sd-jwt.issuer.alg"),
    ("wrong typ", lambda c: c.sd_jwt(_reheader(c, typ="JWT")),
     S.PRESENTATION_INVALID, "sd-jwt.issuer.typ"),
    ("key in a jwk header", lambda c: c.sd_jwt(_reheader(c, jwk={"kty": "EC"})),
     S.PRESENTATION_INVALID, "sd-jwt.issuer"),
    ("expired credential", lambda c: c.sd_jwt(c.present(c.issuance(exp=NOW - 3600))),
     S.WALLET_CREDENTIAL_EXPIRED, "sd-jwt.expired"),
    ("not yet valid", lambda c: c.sd_jwt(c.present(c.issuance(nbf=NOW + 3600))),
     S.WALLET_CREDENTIAL_EXPIRED, "sd-jwt.not-yet-valid"),
    ("no exp", lambda c: c.sd_jwt(_resign(c, lambda p: p.pop("exp"))),
     S.PRESENTATION_INVALID, "sd-jwt.time"),
    ("another vct", lambda c: c.sd_jwt(c.present(c.issuance(vct="urn:test:other:1"))),
     S.UNMATCHED_REQUEST, "sd-jwt.vct"),
    ("digest mismatch (tampered disclosure)", lambda c: c.sd_jwt(_tampered(c)),
     S.PRESENTATION_INVALID, "sd-jwt.disclosure.unreferenced"),
    ("duplicated disclosure", lambda c: c.sd_jwt(_duplicated(c)),
     S.PRESENTATION_INVALID, "sd-jwt.disclosure.duplicate"),
    ("unreferenced disclosure", lambda c: c.sd_jwt(_foreign(c)),
     S.PRESENTATION_INVALID, "sd-jwt.disclosure.unreferenced"),
    ("duplicate digest", lambda c: c.sd_jwt(_resign(c, lambda p: p["_sd"].append(p["_sd"][0]))),
     S.PRESENTATION_INVALID, "sd-jwt.digest.duplicate"),
    ("disclosure overriding a signed claim", lambda c: c.sd_jwt(_overriding(c)),
     S.PRESENTATION_INVALID, "sd-jwt.disclosure.name"),
    ("no holder key (cnf)", lambda c: c.sd_jwt(_resign(c, lambda p: p.pop("cnf"))),
     S.PRESENTATION_INVALID, "sd-jwt.cnf"),
    ("missing key binding", lambda c: c.sd_jwt(strip_kb(c.good())),
     S.PRESENTATION_INVALID, "sd-jwt.kb.missing"),
    ("key binding by another key", lambda c: c.sd_jwt(c.rebind(strip_kb(c.good()), holder_key())),
     S.PRESENTATION_INVALID, "sd-jwt.kb.signature"),
    ("key binding with wrong typ", lambda c: c.sd_jwt(c.rebind(strip_kb(c.good()), typ="JWT")),
     S.PRESENTATION_INVALID, "sd-jwt.kb.typ"),
    ("wrong nonce", lambda c: c.sd_jwt(c.present(c.issuance(), nonce="another-nonce-value")),
     S.SESSION_MISMATCH, "sd-jwt.kb.nonce"),
    ("wrong audience", lambda c: c.sd_jwt(c.present(c.issuance(), aud="x509_hash:another")),
     S.SESSION_MISMATCH, "sd-jwt.kb.aud"),
    ("stale key binding iat",
     lambda c: c.sd_jwt(c.rebind(strip_kb(c.good()), iat=int(time.time()) - 3600)),
     S.RESULT_EXPIRED, "sd-jwt.kb.iat"),
    ("wrong sd_hash",
     lambda c: c.sd_jwt(c.rebind(strip_kb(c.good()), hash_override=b64url(b"\0" * 32))),
     S.PRESENTATION_INVALID, "sd-jwt.kb.sd-hash"),
    ("disclosure removed after binding", lambda c: c.sd_jwt(_removed_after_binding(c)),
     S.PRESENTATION_INVALID, "sd-jwt.kb.sd-hash"),
    ("revoked status",
     lambda c: c.sd_jwt(_status(c, status_list_token(c.pkis.nl, [0, 1, 0]))),
     S.CREDENTIAL_REVOKED, "status.revoked"),
    ("status list with a bad signature",
     lambda c: c.sd_jwt(_status(c, status_list_token(c.pkis.nl, [0, 0, 0],
                                                     signing_key=c.pkis.rogue.jwk))),
     S.STATUS_UNKNOWN, "status.token.signature"),
    ("status list from a private address",
     lambda c: c.sd_jwt(_status(c, None, "https://10.0.0.1/lists/1")),
     S.STATUS_UNKNOWN, "status.fetch"),
    ("status list on loopback", lambda c: c.sd_jwt(_status(c, None, "https://127.0.0.1/lists/1")),
     S.STATUS_UNKNOWN, "status.fetch"),
    ("status list over plain http", lambda c: c.sd_jwt(_status(c, None, "http://status.test/l")),
     S.STATUS_UNKNOWN, "status.fetch"),
    ("mdoc with a bad MSO signature", lambda c: c.mdoc(issuer_signing_key=_other_key()),
     S.PRESENTATION_INVALID, "mdoc.issuer.signature"),
    ("mdoc from an untrusted issuer", lambda c: c.mdoc(pki=c.pkis.rogue),
     S.WALLET_ISSUER_UNTRUSTED, "mdoc.issuer.chain"),
    ("mdoc with a wrong digest", lambda c: c.mdoc(tamper=_tamper_value),
     S.PRESENTATION_INVALID, "mdoc.digest"),
    ("mdoc expired",
     lambda c: c.mdoc(valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)),
     S.WALLET_CREDENTIAL_EXPIRED, "mdoc.expired"),
    ("mdoc over a session transcript with another nonce",
     lambda c: _mdoc_session(c, nonce="another-nonce-value"),
     S.PRESENTATION_INVALID, "mdoc.device.signature"),
    ("mdoc over a session transcript for another response URI",
     lambda c: _mdoc_session(c, response_uri="https://evil.test/response"),
     S.PRESENTATION_INVALID, "mdoc.device.signature"),
    ("mdoc signed by another device key", lambda c: c.mdoc(device_signing_key=_other_key()),
     S.PRESENTATION_INVALID, "mdoc.device.signature"),
    ("a credential nobody asked for", lambda c: c.request.encrypted({"other": [c.good()]}),
     S.UNMATCHED_REQUEST, "vp-token.query"),
]  # fmt: skip


@pytest.fixture(scope="module")
def pkis() -> Pkis:
    return make_pkis()


@pytest.fixture
async def balie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pkis: Pkis
) -> AsyncIterator[tuple[LiveServer, StatusLists]]:
    async with openid4vp_balie(tmp_path, monkeypatch, pkis) as running:
        yield running


@pytest.fixture
async def wallet(balie: tuple[LiveServer, StatusLists]) -> AsyncIterator[ScriptedWallet]:
    made = ScriptedWallet(balie[0].url)
    yield made
    await made.close()


@pytest.fixture
async def browser(balie: tuple[LiveServer, StatusLists]) -> AsyncIterator[Browser]:
    made = Browser(balie[0].url)
    yield made
    await made.close()


async def ask(
    server: LiveServer, browser: Browser, wallet: ScriptedWallet
) -> tuple[IssuedRoom, WalletRequest]:
    room = server.issue_room(purpose="bijstand", tenant="demo")
    await browser.open(room.room)
    status, started = await browser.call(
        "POST", room.room, "/session", room.seat(Role.RESIDENT).token, {"wallet": "openid4vp"}
    )
    assert status == 200, started
    return room, await wallet.fetch(started["authorization_request"])


async def assert_not_admitted(server: LiveServer, browser: Browser, room: IssuedRoom) -> None:
    token = room.seat(Role.RESIDENT).token
    status, state = await browser.call("GET", room.room, "", token)
    assert (status, state["verified"]) == (200, False)
    seat = await SignalClient.connect(browser.http, server)
    try:
        await seat.send(type="join", token=token)
        assert (await seat.expect("error"))["code"] == "verification-required"
        assert await seat.expect_close() == 4412
    finally:
        await seat.close()


@pytest.mark.parametrize(
    ("build", "reason", "check"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
async def test_a_broken_presentation_is_refused_through_the_server(
    balie: tuple[LiveServer, StatusLists],
    browser: Browser,
    wallet: ScriptedWallet,
    pkis: Pkis,
    caplog: pytest.LogCaptureFixture,
    build: Callable[[Case], dict[str, str]],
    reason: RefusalReason,
    check: str,
) -> None:
    quiet_wallet(caplog)
    server, lists = balie
    room, request = await ask(server, browser, wallet)
    answered = await wallet.answer(request, build(Case(wallet, request, pkis, lists)))
    assert answered == (200, {})  # the envelope was ours: the page explains, not the wallet
    status, problem = await browser.finish(room)
    assert status == 403, problem
    assert (problem["code"], problem["check"]) == (f"refused-{reason.code}", check)
    assert problem["detail"] == reason.resident_message
    await assert_not_admitted(server, browser, room)
    assert f"proof refused: {reason.code} (check {check})" in caplog.text
    for value in FAKE_VALUES:
        assert value not in json.dumps(problem)
    await assert_no_value_anywhere(server, caplog)


async def test_a_replayed_response_is_refused_and_changes_nothing(
    balie: tuple[LiveServer, StatusLists],
    browser: Browser,
    wallet: ScriptedWallet,
    pkis: Pkis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_wallet(caplog)
    server, lists = balie
    room, request = await ask(server, browser, wallet)
    form = Case(wallet, request, pkis, lists).sd_jwt(wallet.nl_pid(request, pkis.nl))
    assert await wallet.answer(request, form) == (200, {})
    replayed = await wallet.answer(request, form)
    assert replayed == (400, {"error": "invalid_request", "error_description": "response.state"})
    # a replay to another transaction: encrypted to another key, with another state
    other_room, other = await ask(server, browser, wallet)
    elsewhere = await wallet.answer(request, form, to=other)
    assert elsewhere == (400, {"error": "invalid_request", "error_description": "response.jwe.kid"})
    assert (await browser.finish(other_room))[1]["code"] == "not-finished"
    await assert_not_admitted(server, browser, other_room)
    # the first one is still good, once
    assert (await browser.finish(room))[0] == 200
    await assert_no_value_anywhere(server, caplog)


async def test_a_response_for_another_transaction_is_refused(
    balie: tuple[LiveServer, StatusLists],
    browser: Browser,
    wallet: ScriptedWallet,
    pkis: Pkis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A presentation made for transaction A (its nonce) in B's envelope: B refuses it
    (the nonce is A's), and A, never answered, stays open."""
    quiet_wallet(caplog)
    server, _ = balie
    room_a, request_a = await ask(server, browser, wallet)
    room_b, request_b = await ask(server, browser, wallet)
    made_for_a = wallet.nl_pid(request_a, pkis.nl)
    assert await wallet.answer(request_b, request_b.encrypted({"pid_nl": [made_for_a]})) == (
        200,
        {},
    )
    status, problem = await browser.finish(room_b)
    assert (status, problem["check"]) == (403, "sd-jwt.kb.nonce")
    # B's state with A's response: the envelope is refused outright
    form = request_a.encrypted({"pid_nl": [made_for_a]})
    plain = {"vp_token": json.dumps({"pid_nl": [made_for_a]}), "state": request_b.request_id}
    assert (await wallet.answer(request_a, plain))[0] == 400  # not encrypted: response.mode
    assert (await browser.finish(room_a))[1]["code"] == "not-finished"
    assert await wallet.answer(request_a, form) == (200, {})
    assert (await browser.finish(room_a))[0] == 200
    await assert_not_admitted(server, browser, room_b)


async def test_the_request_object_is_served_once_and_unknown_ids_are_not_found(
    balie: tuple[LiveServer, StatusLists], browser: Browser, wallet: ScriptedWallet
) -> None:
    server, _ = balie
    _, request = await ask(server, browser, wallet)
    assert await wallet.refetch(request) == (
        400,
        {"error": "invalid_request", "error_description": "request.used"},
    )
    request.request_id = "no-such-request"
    assert (await wallet.refetch(request))[0] == 404
    async with wallet.http.post(f"{server.url}/oid4vp/response/no-such", data={"a": "b"}) as r:
        assert r.status == 404


def test_there_are_at_least_thirty_refused_cases_besides_the_envelopes() -> None:
    assert len(REFUSED) >= 30
