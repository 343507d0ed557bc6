"""The IRMA emulator over real HTTP: requestor API, frontend endpoints, app endpoints."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import (
    EmulatorRefused,
    EmulatorSettings,
    HmacAuth,
    NoAuth,
    ProofStatus,
    PublicKeyAuth,
    Status,
    TokenAuth,
    create_emulator_app,
)
from identity.wallet import TestWallet, WalletError
from tests.identity.conftest import (
    BSN,
    DATEOFBIRTH,
    EMAIL,
    EMULATOR_TOKEN,
    FULLNAME,
    STREET,
    LiveEmulator,
    ManualClock,
    disclosure,
    run_emulator,
)
from tests.support import free_port

TOKEN = re.compile(r"[A-Za-z0-9]{20}")
VALUES = {BSN: "999999990", FULLNAME: "Test Persoon", DATEOFBIRTH: "1970-01-01"}
FRONTEND_OPTIONS = "https://irma.app/ld/request/frontendoptions/v1"


def frontend_headers(package: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": package["frontendRequest"]["authorization"]}


async def test_a_full_session_ends_with_a_signed_valid_result(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN, FULLNAME]], [[], [EMAIL]]))

    assert TOKEN.fullmatch(package["token"])
    u = package["sessionPtr"]["u"]
    assert package["sessionPtr"]["irmaqr"] == "disclosing"
    assert re.fullmatch(rf"{live.url}/irma/session/[A-Za-z0-9]{{20}}", u)
    assert package["frontendRequest"] == {
        "authorization": package["frontendRequest"]["authorization"],
        "minProtocolVersion": "1.0",
        "maxProtocolVersion": "1.1",
    }
    assert TOKEN.fullmatch(package["frontendRequest"]["authorization"])
    assert await live.status(package) == "INITIALIZED"
    assert await live.result(package) == {
        "token": package["token"],
        "status": "INITIALIZED",
        "type": "disclosing",
    }

    proof_status = await TestWallet(live.http).disclose(package["sessionPtr"], VALUES)

    assert proof_status == "VALID"
    assert await live.status(package) == "DONE"
    result = await live.result(package)
    issued = int(live.clock.now)
    assert result == {
        "token": package["token"],
        "status": "DONE",
        "type": "disclosing",
        "proofStatus": "VALID",
        "disclosed": [
            [
                {
                    "id": BSN,
                    "rawvalue": "999999990",
                    "value": {"": "999999990", "en": "999999990", "nl": "999999990"},
                    "status": "PRESENT",
                    "issuancetime": issued,
                },
                {
                    "id": FULLNAME,
                    "rawvalue": "Test Persoon",
                    "value": {"": "Test Persoon", "en": "Test Persoon", "nl": "Test Persoon"},
                    "status": "PRESENT",
                    "issuancetime": issued,
                },
            ],
            [],
        ],
    }

    async with live.http.get(f"{live.url}/publickey") as response:
        assert response.status == 200
        public_pem = await response.text()
    async with live.http.get(f"{live.url}/session/{package['token']}/result-jwt") as response:
        assert response.status == 200
        token = await response.text()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token,
        public_pem,
        algorithms=["RS256"],
        issuer="irmaserver",
        options={"require": ["exp", "iat", "iss", "sub"], "verify_exp": False},
    )
    assert claims["sub"] == "disclosing_result"
    assert claims["iat"] == issued
    assert claims["exp"] == issued + 120
    assert {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "sub")} == result


async def test_the_result_jwt_is_signed_by_the_emulators_own_key_only(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start({"request": disclosure([[BSN]]), "validity": 30})
    async with live.http.get(f"{live.url}/session/{package['token']}/result-jwt") as response:
        token = await response.text()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["RS256"], options={"verify_exp": False})
    claims = jwt.decode(
        token,
        live.emulator.private_key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False},
    )
    assert claims["exp"] - claims["iat"] == 30
    assert claims["status"] == "INITIALIZED"


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        # no authenticator applies: irmago answers 400 "request could not be authenticated"
        ({}, 400, "INVALID_REQUEST"),
        ({"Authorization": "wrong-requestor-token-01"}, 403, "UNAUTHORIZED"),
        ({"Authorization": f"Bearer {EMULATOR_TOKEN}"}, 403, "UNAUTHORIZED"),
        # a token with a JWT's content type: again no authenticator applies
        ({"Authorization": EMULATOR_TOKEN, "Content-Type": "text/plain"}, 400, "INVALID_REQUEST"),
        ({"Authorization": EMULATOR_TOKEN, "Content-Type": "text/html"}, 400, "INVALID_REQUEST"),
    ],
    ids=["no token", "wrong token", "bearer prefix", "token with text/plain", "other type"],
)
async def test_starting_needs_the_exact_requestor_token(
    emulator_live: LiveEmulator, headers: dict[str, str], status: int, error: str
) -> None:
    # irmago: irma/server/requestorserver/auth.go (which authenticator applies) and
    # server.go checkAuth (what is answered when none does)
    async with emulator_live.http.post(
        f"{emulator_live.url}/session",
        data=json.dumps(disclosure([[BSN]])),
        headers={"Content-Type": "application/json", **headers},
    ) as response:
        assert response.status == status
        body = await response.json()
    assert body["error"] == error
    assert body["status"] == status
    assert emulator_live.emulator.store.open_sessions() == []


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"disclose": [[[BSN]]]}, "@context"),
        (
            {**disclosure([[BSN]]), "@context": "https://irma.app/ld/request/issuance/v2"},
            "@context",
        ),
        (disclosure(), "non-empty"),
        ({"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[BSN]]}, "list"),
        (disclosure([["irma-demo.gemeente.personalData"]]), "scheme.issuer"),
        (disclosure([[{"type": BSN, "value": 5}]]), "string or null"),
        ({"request": disclosure([[BSN]]), "callbackUrl": "http://127.0.0.1/cb"}, "callbackUrl"),
        ({"request": disclosure([[BSN]]), "validity": "soon"}, "validity"),
        ([1, 2], "object"),
        (disclosure([[]]), "no attributes"),
        # attributes of one credential type must be adjacent within a conjunction
        (disclosure([[FULLNAME, EMAIL, DATEOFBIRTH]]), "must be adjacent"),
        (disclosure([[BSN], [FULLNAME, STREET, DATEOFBIRTH]]), "must be adjacent"),
    ],
)
async def test_malformed_requests_are_refused(
    emulator_live: LiveEmulator, request_body: object, fragment: str
) -> None:
    # irmago answers every request it cannot parse or validate with 400 INVALID_REQUEST
    # (requestorserver/auth.go around server.ParseSessionRequest)
    async with emulator_live.http.post(
        f"{emulator_live.url}/session",
        json=request_body,
        headers={"Authorization": EMULATOR_TOKEN},
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"] == "INVALID_REQUEST"
    assert fragment in body["message"]
    assert emulator_live.emulator.store.open_sessions() == []


async def test_attributes_grouped_by_credential_type_are_accepted(
    emulator_live: LiveEmulator,
) -> None:
    package = await emulator_live.start(disclosure([[FULLNAME, DATEOFBIRTH, STREET]]))
    assert await emulator_live.status(package) == "INITIALIZED"


async def test_unknown_sessions_answer_session_unknown(emulator_live: LiveEmulator) -> None:
    for path in ("/session/AAAAAAAAAAAAAAAAAAAA/result", "/irma/session/AAAAAAAAAAAAAAAAAAAA/"):
        code, body = await emulator_live.get(path)
        assert code == 400
        assert body == {
            "status": 400,
            "error": "SESSION_UNKNOWN",
            "description": "Unknown or expired session",
        }


async def test_frontend_endpoints_check_the_frontend_authorization(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    u = package["sessionPtr"]["u"]
    for headers in ({}, {"Authorization": "x" * 20}, {"Authorization": package["token"]}):
        async with live.http.get(f"{u}/frontend/status", headers=headers) as response:
            assert response.status == 403
            assert (await response.json())["error"] == "UNAUTHORIZED"
    async with live.http.get(f"{u}/frontend/status", headers=frontend_headers(package)) as r:
        assert r.status == 200
        assert await r.json() == {"status": "INITIALIZED"}
    async with live.http.get(f"{u}/frontend/statusevents", headers=frontend_headers(package)) as r:
        assert r.status == 500
        assert (await r.json())["error"] == "SSE_DISABLED"
    async with live.http.get(f"{live.url}/session/{package['token']}/statusevents") as r:
        assert r.status == 500
        assert (await r.json())["error"] == "SSE_DISABLED"


async def test_cors_preflight_and_headers_match_the_real_server(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    u = package["sessionPtr"]["u"]
    preflight = {
        "Origin": "http://127.0.0.1:1",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    async with live.http.options(f"{u}/frontend/status", headers=preflight) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
            "GET",
            "POST",
            "DELETE",
        }
    async with live.http.get(
        f"{u}/frontend/status", headers={**frontend_headers(package), "Origin": "http://x"}
    ) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


V28 = {"X-IRMA-MinProtocolVersion": "2.8", "X-IRMA-MaxProtocolVersion": "2.8"}


async def test_unreadable_version_headers_change_nothing(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    async with live.http.get(
        f"{package['sessionPtr']['u']}/", headers={"Authorization": "a" * 20}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "MALFORMED_INPUT"
    assert await live.status(package) == "INITIALIZED"


@pytest.mark.parametrize(
    ("headers", "code", "error", "description"),
    [
        (
            {
                "Authorization": "a" * 20,
                "X-IRMA-MinProtocolVersion": "2.4",
                "X-IRMA-MaxProtocolVersion": "2.7",
            },
            400,
            "PROTOCOL_VERSION",
            "Protocol version negotiation failed",
        ),
        (V28, 403, "UNAUTHORIZED", "You are not authorized to access the session"),
    ],
    ids=["old app", "no app authorization"],
)
async def test_a_failed_first_request_cancels_the_session(
    emulator_live: LiveEmulator,
    headers: dict[str, str],
    code: int,
    error: str,
    description: str,
) -> None:
    # irmago handleGetClientRequest (irma/server/irmaserver/handle.go) ends the session
    # with session.fail(...): CANCELLED, and the result carries the error
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    async with live.http.get(f"{package['sessionPtr']['u']}/", headers=headers) as response:
        assert response.status == code
        body = await response.json()
    assert (body["error"], body["description"]) == (error, description)
    assert await live.status(package) == "CANCELLED"
    result = await live.result(package)
    assert result["status"] == "CANCELLED"
    assert (result["error"]["status"], result["error"]["error"]) == (code, error)
    assert "proofStatus" not in result and "disclosed" not in result
    # the frontend sees the end, and another app cannot pick the session up
    with pytest.raises(WalletError) as late:
        await TestWallet(live.http).connect(package["sessionPtr"])
    assert late.value.error == "UNEXPECTED_REQUEST"


async def test_the_app_must_negotiate_version_2_8_and_send_its_own_authorization(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    u = package["sessionPtr"]["u"]
    v28 = V28

    async with live.http.get(u, headers={**v28, "Authorization": "w" * 20}) as response:
        assert response.status == 200
        body = await response.json()
    assert body["@context"] == "https://irma.app/ld/request/client/v1"
    assert body["protocolVersion"] == "2.8"
    assert body["options"] == {
        "@context": "https://irma.app/ld/options/v1",
        "pairingMethod": "none",
    }
    assert body["request"]["disclose"] == [[[BSN]]]
    assert body["request"]["context"] == "AQ=="
    assert base64.b64decode(body["request"]["nonce"])
    assert await live.status(package) == "CONNECTED"

    # a second GET is not the first any more
    async with live.http.get(u, headers={**v28, "Authorization": "w" * 20}) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "UNEXPECTED_REQUEST"


async def test_later_app_calls_are_bound_to_the_first_authorization(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    owner = TestWallet(live.http)
    await owner.connect(package["sessionPtr"])
    intruder = TestWallet(live.http)

    with pytest.raises(WalletError) as refused:
        await intruder._call(
            "POST",
            f"{package['sessionPtr']['u']}/proofs",
            json_body={"emulatorDisclosure": [[{"id": BSN, "rawvalue": "999999990"}]]},
        )
    assert (refused.value.status, refused.value.error) == (403, "UNAUTHORIZED")
    assert await live.status(package) == "CONNECTED"

    async with live.http.post(
        f"{package['sessionPtr']['u']}/proofs",
        json={"emulatorDisclosure": [[{"id": BSN, "rawvalue": "999999990"}]]},
        headers={"Authorization": owner.authorization},
    ) as response:
        assert response.status == 200
        assert await response.json() == {"proofStatus": "VALID"}


async def test_pairing_holds_the_app_until_the_frontend_confirms(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    fixed = {"type": BSN, "value": "999999990"}
    package = await live.start(disclosure([[fixed]]))
    assert package["frontendRequest"]["pairingHint"] is True
    u = package["sessionPtr"]["u"]

    async with live.http.post(
        f"{u}/frontend/options",
        json={"@context": "https://irma.app/ld/request/options/v1", "pairingMethod": "pin"},
        headers=frontend_headers(package),
    ) as response:
        assert response.status == 400  # the README's context; the server wants frontendoptions
    async with live.http.post(
        f"{u}/frontend/options",
        json={"@context": FRONTEND_OPTIONS, "pairingMethod": "pin"},
        headers=frontend_headers(package),
    ) as response:
        assert response.status == 200
        options = await response.json()
    assert options["@context"] == "https://irma.app/ld/options/v1"
    assert options["pairingMethod"] == "pin"
    assert re.fullmatch(r"\d{4}", options["pairingCode"])

    wallet = TestWallet(live.http)
    seen: list[str] = []

    async def on_pairing(code: str) -> None:
        seen.append(code)
        assert await live.status(package) == "PAIRING"
        # the app may not read the request before pairing ends
        with pytest.raises(WalletError) as early:
            await wallet._call("GET", f"{u}/request")
        assert early.value.error == "PAIRING_REQUIRED"
        async with live.http.post(f"{u}/frontend/pairingcompleted") as response:
            assert response.status == 403
        async with live.http.post(
            f"{u}/frontend/pairingcompleted", headers=frontend_headers(package)
        ) as response:
            assert response.status == 204

    status = await wallet.disclose(package["sessionPtr"], {BSN: "999999990"}, on_pairing=on_pairing)

    assert seen == [options["pairingCode"]]
    assert status == "VALID"
    async with live.http.post(
        f"{u}/frontend/options",
        json={"@context": FRONTEND_OPTIONS, "pairingMethod": "none"},
        headers=frontend_headers(package),
    ) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "UNEXPECTED_REQUEST"


async def test_frontend_options_answer_as_irmago(emulator_live: LiveEmulator) -> None:
    # irmago handleFrontendOptionsPost and updateFrontendOptions (irmaserver/handle.go,
    # helpers.go): an unknown method is an UNEXPECTED_REQUEST, no method keeps the options
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    url = f"{package['sessionPtr']['u']}/frontend/options"
    headers = frontend_headers(package)
    cases: list[tuple[object, int, object]] = [
        ({"@context": FRONTEND_OPTIONS, "pairingMethod": "qr"}, 403, "UNEXPECTED_REQUEST"),
        ({"@context": FRONTEND_OPTIONS, "pairingMethod": 4}, 400, "MALFORMED_INPUT"),
        ({"pairingMethod": "pin"}, 400, "MALFORMED_INPUT"),
        (
            {"@context": FRONTEND_OPTIONS},
            200,
            {"@context": "https://irma.app/ld/options/v1", "pairingMethod": "none"},
        ),
    ]
    for body, code, answer in cases:
        async with live.http.post(url, json=body, headers=headers) as response:
            assert response.status == code, body
            got = await response.json()
        assert (got if code == 200 else got["error"]) == answer, body
    assert await live.status(package) == "INITIALIZED"
    async with live.http.post(
        url, json={"@context": FRONTEND_OPTIONS, "pairingMethod": "pin"}, headers=headers
    ) as response:
        code_now = (await response.json())["pairingCode"]
    async with live.http.post(url, json={"@context": FRONTEND_OPTIONS}, headers=headers) as r:
        assert (await r.json())["pairingCode"] == code_now


async def test_no_pairing_hint_without_fixed_values(emulator_live: LiveEmulator) -> None:
    package = await emulator_live.start(disclosure([[{"type": BSN, "notNull": True}]]))
    assert "pairingHint" not in package["frontendRequest"]


@pytest.mark.parametrize("who", ["requestor", "frontend", "wallet"])
async def test_cancelling_ends_the_session_cancelled(emulator_live: LiveEmulator, who: str) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    u = package["sessionPtr"]["u"]
    if who == "requestor":
        async with live.http.delete(f"{live.url}/session/{package['token']}") as response:
            assert response.status == 204
    elif who == "frontend":
        async with live.http.delete(u) as response:
            assert response.status == 200
    else:
        await TestWallet(live.http).refuse(package["sessionPtr"])
    assert await live.status(package) == "CANCELLED"
    assert await live.result(package) == {
        "token": package["token"],
        "status": "CANCELLED",
        "type": "disclosing",
    }
    with pytest.raises(WalletError) as late:
        await TestWallet(live.http).disclose(package["sessionPtr"], VALUES)
    assert late.value.error == "UNEXPECTED_REQUEST"


async def test_a_delete_after_done_leaves_the_result_alone(emulator_live: LiveEmulator) -> None:
    # yivi-frontend may DELETE {u} when it closes; the result must survive that
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    await TestWallet(live.http).disclose(package["sessionPtr"], VALUES)
    async with live.http.delete(package["sessionPtr"]["u"]) as response:
        assert response.status == 200
    assert (await live.result(package))["proofStatus"] == "VALID"


async def test_missing_attributes_still_end_done(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]], [[DATEOFBIRTH]]))
    status = await TestWallet(live.http).disclose(package["sessionPtr"], {BSN: "999999990"})
    assert status == "MISSING_ATTRIBUTES"
    result = await live.result(package)
    assert result["status"] == "DONE"
    assert result["proofStatus"] == "MISSING_ATTRIBUTES"
    # irmago (AttributeConDisCon.Satisfy in irma/requests.go) leaves an unmet disjunction nil
    assert result["disclosed"] == [[result["disclosed"][0][0]], None]
    assert result["disclosed"][0][0]["id"] == BSN


async def test_too_few_answers_are_missing_attributes_without_disclosed(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]], [[DATEOFBIRTH]]))
    wallet = TestWallet(live.http)
    await wallet.connect(package["sessionPtr"])
    body = {"emulatorDisclosure": [[{"id": BSN, "rawvalue": "999999990"}]]}
    answer = await wallet._call("POST", f"{package['sessionPtr']['u']}/proofs", json_body=body)
    assert answer == {"proofStatus": "MISSING_ATTRIBUTES"}
    result = await live.result(package)
    assert (result["status"], result["proofStatus"]) == ("DONE", "MISSING_ATTRIBUTES")
    assert "disclosed" not in result


async def test_null_and_extra_attributes_are_marked(emulator_live: LiveEmulator) -> None:
    live = emulator_live
    package = await live.start(disclosure([[FULLNAME]], [[], [EMAIL]]))
    status = await TestWallet(live.http).disclose(
        package["sessionPtr"], {FULLNAME: None, EMAIL: None}, extra={DATEOFBIRTH: "1970-01-01"}
    )
    assert status == "VALID"
    disclosed = (await live.result(package))["disclosed"]
    assert [[(a["id"], a["status"], a["value"]) for a in inner] for inner in disclosed] == [
        [(FULLNAME, "NULL", None)],
        [(EMAIL, "NULL", None)],
        [(DATEOFBIRTH, "EXTRA", {"": "1970-01-01", "en": "1970-01-01", "nl": "1970-01-01"})],
    ]


@pytest.mark.parametrize(
    "forced", [ProofStatus.INVALID, ProofStatus.EXPIRED, ProofStatus.UNMATCHED_REQUEST]
)
async def test_switches_force_a_proof_status(
    emulator_live: LiveEmulator, forced: ProofStatus
) -> None:
    live = emulator_live
    live.emulator.store.switches.force(proof_status=forced)
    package = await live.start(disclosure([[BSN]]))
    assert await TestWallet(live.http).disclose(package["sessionPtr"], VALUES) == forced.value
    result = await live.result(package)
    assert (result["status"], result["proofStatus"]) == ("DONE", forced.value)
    # the attributes still look present: only proofStatus tells the requestor
    assert result["disclosed"][0][0]["status"] == "PRESENT"

    live.emulator.store.switches.reset()
    package = await live.start(disclosure([[BSN]]))
    assert await TestWallet(live.http).disclose(package["sessionPtr"], VALUES) == "VALID"


@pytest.mark.parametrize("outcome", [Status.CANCELLED, Status.TIMEOUT])
async def test_switches_force_an_outcome(emulator_live: LiveEmulator, outcome: Status) -> None:
    live = emulator_live
    live.emulator.settings.switches.force(outcome=outcome)
    package = await live.start(disclosure([[BSN]]))
    with pytest.raises(WalletError) as refused:
        await TestWallet(live.http).disclose(package["sessionPtr"], VALUES)
    assert refused.value.error == "UNEXPECTED_REQUEST"
    assert await live.status(package) == outcome.value
    assert "disclosed" not in await live.result(package)


def test_switches_refuse_outcomes_other_than_cancelled_or_timeout() -> None:
    from identity.emulator import EmulatorSwitches

    with pytest.raises(ValueError, match="CANCELLED or TIMEOUT"):
        EmulatorSwitches().force(outcome=Status.DONE)


async def test_sessions_time_out_and_results_expire_by_the_clock(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    waiting = await live.start({"request": disclosure([[BSN]]), "timeout": 60})
    done = await live.start(disclosure([[BSN]]))
    await TestWallet(live.http).disclose(done["sessionPtr"], VALUES)

    live.clock.advance(59)
    assert await live.status(waiting) == "INITIALIZED"
    live.clock.advance(1)
    assert await live.status(waiting) == "TIMEOUT"
    with pytest.raises(WalletError):
        await TestWallet(live.http).disclose(waiting["sessionPtr"], VALUES)

    live.clock.advance(300 - 60 - 1)
    assert (await live.result(done))["proofStatus"] == "VALID"
    assert (await live.result(waiting))["status"] == "TIMEOUT"
    live.clock.advance(1)
    # results live session_result_lifetime (5 min) after the session's last activity, as in
    # irmago's ttl() (irmaserver/helpers.go): a timeout is not activity, so both go now
    for package in (done, waiting):
        code, body = await live.get(f"/session/{package['token']}/result")
        assert (code, body["error"]) == (400, "SESSION_UNKNOWN")


async def test_without_a_timeout_the_app_may_connect_during_the_max_session_lifetime(
    emulator_live: LiveEmulator,
) -> None:
    # irmago uses the request's timeout only when it is not 0, else max_session_lifetime
    # (15 min; server.Configuration, irmaserver/helpers.go timeout())
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    live.clock.advance(899)
    assert await live.status(package) == "INITIALIZED"
    live.clock.advance(1)
    assert await live.status(package) == "TIMEOUT"


async def test_a_connected_session_times_out_after_the_max_lifetime(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    await TestWallet(live.http).connect(package["sessionPtr"])
    live.clock.advance(899)
    assert await live.status(package) == "CONNECTED"
    live.clock.advance(1)
    assert await live.status(package) == "TIMEOUT"
    # its last activity was 15 min ago, so its result is already past its 5 min: irmago
    # deletes it at its next sweep (every 10 s), the emulator at the next look
    code, body = await live.get(f"/session/{package['token']}/status")
    assert (code, body["error"]) == (400, "SESSION_UNKNOWN")


def test_the_factory_refuses_production(emulator_key: rsa.RSAPrivateKey) -> None:
    settings = EmulatorSettings(
        public_url="https://irma.example",
        requestor_auth=TokenAuth(EMULATOR_TOKEN),
        jwt_private_key=emulator_key,
        production=True,
    )
    with pytest.raises(EmulatorRefused, match="development and tests only"):
        create_emulator_app(settings)


async def test_it_works_mounted_under_a_prefix(emulator_key: rsa.RSAPrivateKey) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/irma-emulator"
    parent = web.Application()
    parent.add_subapp(
        "/irma-emulator",
        create_emulator_app(
            EmulatorSettings(
                public_url=base,
                requestor_auth=TokenAuth(EMULATOR_TOKEN),
                jwt_private_key=emulator_key,
            )
        ),
    )
    runner = web.AppRunner(parent)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}/session",
                json=disclosure([[BSN]]),
                headers={"Authorization": EMULATOR_TOKEN},
            ) as response:
                assert response.status == 200
                package = await response.json()
            assert package["sessionPtr"]["u"].startswith(f"{base}/irma/session/")
            assert await TestWallet(http).disclose(package["sessionPtr"], VALUES) == "VALID"
            async with http.get(f"{base}/session/{package['token']}/result") as response:
                assert (await response.json())["status"] == "DONE"
            async with http.get(f"{base}/wallet") as response:
                assert response.status == 200
                assert 'href="/irma-emulator/wallet/wallet.css"' in await response.text()
    finally:
        await runner.cleanup()


# -- signed requestor requests (hmac / publickey) -----------------------------------


def _signed_settings(auth: Any, clock: ManualClock, key: rsa.RSAPrivateKey) -> Any:
    def settings_for(url: str) -> EmulatorSettings:
        return EmulatorSettings(
            public_url=url, requestor_auth=auth, jwt_private_key=key, clock=clock
        )

    return settings_for


async def _post_jwt(live: LiveEmulator, token: str) -> tuple[int, dict[str, Any]]:
    async with live.http.post(
        f"{live.url}/session", data=token, headers={"Content-Type": "text/plain"}
    ) as response:
        return response.status, await response.json()


async def test_hmac_signed_requests(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    secret = b"a test-only hmac secret, 32 bytes"
    auth = HmacAuth("balie-test", base64.b64encode(secret).decode())
    claims = {
        "iat": int(emulator_clock.now),
        "iss": "balie-test",
        "sub": "verification_request",
        "sprequest": {"request": disclosure([[BSN]]), "validity": 60},
    }
    async for live in run_emulator(
        _signed_settings(auth, emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        code, body = await _post_jwt(live, jwt.encode(claims, secret, algorithm="HS256"))
        assert code == 200, body
        assert TOKEN.fullmatch(body["token"])

        now = int(emulator_clock.now)
        # irmago requestorserver/auth.go jwtValidateClaims: a bad signature, an unknown
        # requestor and a "used before issued" iat fail jwt.ParseWithClaims (400); only the
        # max_request_age check answers 403
        for bad, answer in (
            (
                jwt.encode(claims, b"another secret of thirty-two byte", algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                jwt.encode({**claims, "iss": "someone-else"}, secret, algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                jwt.encode({**claims, "iat": now - 301}, secret, algorithm="HS256"),
                (403, "UNAUTHORIZED"),
            ),
            (
                jwt.encode({**claims, "iat": now + 1}, secret, algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                jwt.encode({**claims, "exp": now - 1}, secret, algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                jwt.encode({k: v for k, v in claims.items() if k != "iat"}, secret, "HS256"),
                (403, "UNAUTHORIZED"),
            ),
            (
                jwt.encode({**claims, "sub": "issue_request"}, secret, algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                jwt.encode({**claims, "sub": "verification_result"}, secret, algorithm="HS256"),
                (400, "INVALID_REQUEST"),
            ),
            (
                # irmago reads sprequest as the extended form only
                jwt.encode({**claims, "sprequest": disclosure([[BSN]])}, secret, "HS256"),
                (400, "INVALID_REQUEST"),
            ),
        ):
            code, body = await _post_jwt(live, bad)
            assert (code, body["error"]) == answer, jwt.decode(
                bad, options={"verify_signature": False}
            )
        assert live.emulator.store.open_sessions()[1:] == []


async def test_a_requestor_jwt_may_have_sub_disclosing(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    # irmago irma.ParseRequestorJwt takes the action name as well as "verification_request"
    secret = b"a test-only hmac secret, 32 bytes"
    auth = HmacAuth("balie-test", base64.b64encode(secret).decode())
    claims = {
        "iat": int(emulator_clock.now),
        "iss": "balie-test",
        "sub": "disclosing",
        "sprequest": {"request": disclosure([[BSN]])},
    }
    async for live in run_emulator(
        _signed_settings(auth, emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        code, body = await _post_jwt(live, jwt.encode(claims, secret, algorithm="HS256"))
        assert code == 200, body


#: 32 bytes whose base64 has '+', '/' and padding, so every dialect looks different
DIALECT_SECRET = bytes([0xFB, 0xFF, 0xBF]) * 10 + b"\xfe\xff"


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(DIALECT_SECRET).decode(),
        base64.b64encode(DIALECT_SECRET).decode().rstrip("="),
        base64.urlsafe_b64encode(DIALECT_SECRET).decode(),
        base64.urlsafe_b64encode(DIALECT_SECRET).decode().rstrip("="),
    ],
    ids=["standard", "standard unpadded", "url-safe", "url-safe unpadded"],
)
async def test_the_hmac_key_may_be_in_any_base64_dialect(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey, key: str
) -> None:
    # irmago HmacAuthenticator.Initialize decodes with internal/common Base64Decode
    claims = {
        "iat": int(emulator_clock.now),
        "sub": "verification_request",
        "sprequest": {"request": disclosure([[BSN]])},
    }
    auth = HmacAuth("balie-test", key)
    async for live in run_emulator(
        _signed_settings(auth, emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        token = jwt.encode(claims, DIALECT_SECRET, algorithm="HS256", headers={"kid": "balie-test"})
        code, body = await _post_jwt(live, token)
        assert code == 200, body


def test_an_hmac_key_in_no_base64_dialect_is_refused_at_once() -> None:
    mixed = base64.b64encode(DIALECT_SECRET).decode().replace("/", "_")
    with pytest.raises(ValueError, match="base64"):
        HmacAuth("balie-test", mixed)


async def test_publickey_signed_requests(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    requestor_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        requestor_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    claims = {
        "iat": int(emulator_clock.now),
        "sub": "verification_request",
        "sprequest": {"request": disclosure([[BSN]])},
    }
    auth = PublicKeyAuth("balie-test", pem)
    async for live in run_emulator(
        _signed_settings(auth, emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        good = jwt.encode(claims, requestor_key, algorithm="RS256", headers={"kid": "balie-test"})
        code, body = await _post_jwt(live, good)
        assert code == 200, body
        # signed by a key that is not the requestor's
        forged = jwt.encode(claims, emulator_key, algorithm="RS256", headers={"kid": "balie-test"})
        code, body = await _post_jwt(live, forged)
        assert (code, body["error"]) == (400, "INVALID_REQUEST")
        # an HS256 JWT finds no HMAC requestor here: unknown requestor
        hs = jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"kid": "balie-test"})
        code, body = await _post_jwt(live, hs)
        assert (code, body["error"]) == (400, "INVALID_REQUEST")
        # a JSON body with a token finds no token requestor: 403, as irmago's token authenticator
        async with live.http.post(
            f"{live.url}/session", json=disclosure([[BSN]]), headers={"Authorization": "x" * 20}
        ) as response:
            assert (response.status, (await response.json())["error"]) == (403, "UNAUTHORIZED")


async def test_no_auth_accepts_anyone_but_no_authorization_header(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    async for live in run_emulator(
        _signed_settings(NoAuth(), emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        async with live.http.post(f"{live.url}/session", json=disclosure([[BSN]])) as response:
            assert response.status == 200
        # irmago's NilAuthenticator does not apply to a request with Authorization, and no
        # other authenticator exists with no_auth: 400 "request could not be authenticated"
        async with live.http.post(
            f"{live.url}/session", json=disclosure([[BSN]]), headers={"Authorization": "x"}
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"] == "INVALID_REQUEST"


async def test_health(emulator_live: LiveEmulator) -> None:
    assert await emulator_live.get("/health") == (200, {"status": "UP"})
