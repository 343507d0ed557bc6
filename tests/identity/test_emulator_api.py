"""The IRMA emulator over real HTTP: requestor API, frontend endpoints, app endpoints."""

from __future__ import annotations

import base64
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
    "headers",
    [
        {},
        {"Authorization": "wrong-requestor-token-01"},
        {"Authorization": f"Bearer {EMULATOR_TOKEN}"},
    ],
    ids=["no token", "wrong token", "bearer prefix"],
)
async def test_starting_needs_the_exact_requestor_token(
    emulator_live: LiveEmulator, headers: dict[str, str]
) -> None:
    async with emulator_live.http.post(
        f"{emulator_live.url}/session", json=disclosure([[BSN]]), headers=headers
    ) as response:
        assert response.status == 403
        body = await response.json()
    assert body["error"] == "UNAUTHORIZED"
    assert body["status"] == 403
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
    ],
)
async def test_malformed_requests_are_refused(
    emulator_live: LiveEmulator, request_body: object, fragment: str
) -> None:
    async with emulator_live.http.post(
        f"{emulator_live.url}/session",
        json=request_body,
        headers={"Authorization": EMULATOR_TOKEN},
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"] == "MALFORMED_VERIFIER_REQUEST"
    assert fragment in body["message"]


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


async def test_the_app_must_negotiate_version_2_8_and_send_its_own_authorization(
    emulator_live: LiveEmulator,
) -> None:
    live = emulator_live
    package = await live.start(disclosure([[BSN]]))
    u = package["sessionPtr"]["u"]
    v28 = {"X-IRMA-MinProtocolVersion": "2.8", "X-IRMA-MaxProtocolVersion": "2.8"}
    cases = [
        ({"Authorization": "a" * 20}, 400, "MALFORMED_INPUT"),
        (
            {
                "Authorization": "a" * 20,
                "X-IRMA-MinProtocolVersion": "2.4",
                "X-IRMA-MaxProtocolVersion": "2.7",
            },
            400,
            "PROTOCOL_VERSION",
        ),
        (v28, 403, "UNAUTHORIZED"),
    ]
    for headers, code, error in cases:
        async with live.http.get(f"{u}/", headers=headers) as response:
            assert response.status == code
            assert (await response.json())["error"] == error
    assert await live.status(package) == "INITIALIZED"

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
    assert result["disclosed"][1] == []


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
    live.clock.advance(1)
    code, body = await live.get(f"/session/{done['token']}/result")
    assert (code, body["error"]) == (400, "SESSION_UNKNOWN")
    # the timed-out one ended 60 s later, so its result lives 60 s longer
    assert (await live.result(waiting))["status"] == "TIMEOUT"
    live.clock.advance(60)
    code, body = await live.get(f"/session/{waiting['token']}/result")
    assert (code, body["error"]) == (400, "SESSION_UNKNOWN")


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

        for bad in (
            jwt.encode(claims, b"another secret of thirty-two byte", algorithm="HS256"),
            jwt.encode({**claims, "iss": "someone-else"}, secret, algorithm="HS256"),
            jwt.encode({**claims, "iat": int(emulator_clock.now) - 301}, secret, algorithm="HS256"),
            jwt.encode({**claims, "iat": int(emulator_clock.now) + 60}, secret, algorithm="HS256"),
            jwt.encode({**claims, "sub": "issue_request"}, secret, algorithm="HS256"),
        ):
            code, body = await _post_jwt(live, bad)
            assert (code, body["error"]) == (403, "UNAUTHORIZED")


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
        assert (code, body["error"]) == (403, "UNAUTHORIZED")


async def test_no_auth_accepts_anyone_but_no_authorization_header(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    async for live in run_emulator(
        _signed_settings(NoAuth(), emulator_clock, emulator_key), emulator_clock, emulator_key
    ):
        async with live.http.post(f"{live.url}/session", json=disclosure([[BSN]])) as response:
            assert response.status == 200
        async with live.http.post(
            f"{live.url}/session", json=disclosure([[BSN]]), headers={"Authorization": "x"}
        ) as response:
            assert response.status == 403


async def test_health(emulator_live: LiveEmulator) -> None:
    assert await emulator_live.get("/health") == (200, {"status": "UP"})
