"""The requestor client (:mod:`identity.irma`) against the IRMA emulator, over real HTTP.

These pin what Balie asks of a real ``irma server`` to what irmago accepts: the shape of
the condiscon, ``notNull``, the requestor JWT's ``iat`` and the HMAC key's encoding.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import EmulatorSettings
from identity.emulator import HmacAuth as EmulatorHmacAuth
from identity.errors import RefusalReason, VerificationRefused
from identity.irma import HmacAuth, IrmaSettings, IrmaVerifier, RequestorAuth, TokenAuth
from identity.policy import DisclosurePolicy, policy_from_data
from identity.verifier import VerificationStatus
from identity.wallet import TestWallet
from tests.identity.conftest import EMULATOR_TOKEN, LiveEmulator, ManualClock, run_emulator

#: name, address and date of birth in one alternative: two credential types, interleaved
NAME_ADDRESS_BIRTHDATE: DisclosurePolicy = policy_from_data(
    "aanvraag", {"required": [[["full_name", "address", "birthdate"]]]}
)
DEMO_VALUES: dict[str, str | None] = {
    "irma-demo.gemeente.personalData.fullname": "Test Persoon",
    "irma-demo.gemeente.personalData.dateofbirth": "1970-01-01",
    "irma-demo.gemeente.address.street": "Teststraat",
    "irma-demo.gemeente.address.houseNumber": "1",
    "irma-demo.gemeente.address.zipcode": "1234 AB",
    "irma-demo.gemeente.address.city": "Teststad",
}
HMAC_SECRET = bytes([0xFB, 0xFF, 0xBF]) * 10 + b"\xfe\xff"
SettingsFor = Callable[[str], EmulatorSettings]


def verifier(
    live: LiveEmulator, auth: RequestorAuth, *, clock: ManualClock | None = None
) -> IrmaVerifier:
    settings = IrmaSettings(
        url=live.url,
        auth=auth,
        result_key=live.emulator.private_key.public_key(),
        demo=True,
    )
    return IrmaVerifier(live.http, settings, clock=clock or live.clock)


async def test_an_alternative_across_credential_types_is_asked_and_verified(
    emulator_live: LiveEmulator,
) -> None:
    client = verifier(emulator_live, TokenAuth(EMULATOR_TOKEN))
    started = await client.start(NAME_ADDRESS_BIRTHDATE)
    pointer = started.browser_payload["sessionPtr"]
    assert isinstance(pointer, dict)

    assert await TestWallet(emulator_live.http).disclose(pointer, DEMO_VALUES) == "VALID"

    assert await client.status(started.handle) is VerificationStatus.DONE
    identity = await client.result(started.handle)
    assert identity.values["address.house_number"] == "1"
    assert identity.values["full_name"] == "Test Persoon"


@pytest.mark.parametrize(
    "empty", ["irma-demo.gemeente.personalData.fullname", "irma-demo.gemeente.address.houseNumber"]
)
async def test_an_empty_optional_attribute_is_missing_not_valid(
    emulator_live: LiveEmulator, empty: str
) -> None:
    client = verifier(emulator_live, TokenAuth(EMULATOR_TOKEN))
    started = await client.start(NAME_ADDRESS_BIRTHDATE)
    pointer = started.browser_payload["sessionPtr"]
    assert isinstance(pointer, dict)

    status = await TestWallet(emulator_live.http).disclose(pointer, {**DEMO_VALUES, empty: None})

    # asked notNull, the server does not count a NULL as an answer
    assert status == "MISSING_ATTRIBUTES"
    with pytest.raises(VerificationRefused) as refused:
        await client.result(started.handle)
    assert refused.value.reason is RefusalReason.MISSING_ATTRIBUTES


def hmac_settings(key_text: str, clock: ManualClock, key: rsa.RSAPrivateKey) -> SettingsFor:
    def settings_for(url: str) -> EmulatorSettings:
        return EmulatorSettings(
            public_url=url,
            requestor_auth=EmulatorHmacAuth("balie", key_text),
            jwt_private_key=key,
            clock=clock,
        )

    return settings_for


async def test_an_hmac_key_in_the_irma_servers_own_encoding_works(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    # the irma server's config may hold the key as unpadded url-safe base64, one of the
    # four dialects irmago reads (internal/common Base64Decode); so may ours
    key = base64.urlsafe_b64encode(HMAC_SECRET).decode().rstrip("=")
    settings = hmac_settings(key, emulator_clock, emulator_key)
    async for live in run_emulator(settings, emulator_clock, emulator_key):
        client = verifier(live, HmacAuth.from_base64("balie", key))
        started = await client.start(NAME_ADDRESS_BIRTHDATE)
        assert await client.status(started.handle) is VerificationStatus.WAITING


async def test_signed_requests_survive_a_server_clock_a_little_behind(
    emulator_clock: ManualClock, emulator_key: rsa.RSAPrivateKey
) -> None:
    # irmago refuses a requestor JWT whose iat is after its own clock, with no leeway
    key = base64.b64encode(HMAC_SECRET).decode()
    settings = hmac_settings(key, emulator_clock, emulator_key)
    async for live in run_emulator(settings, emulator_clock, emulator_key):
        ahead = ManualClock(emulator_clock.now + 2)
        client = verifier(live, HmacAuth("balie", HMAC_SECRET), clock=ahead)
        started = await client.start(NAME_ADDRESS_BIRTHDATE)
        assert await client.status(started.handle) is VerificationStatus.WAITING


async def test_the_client_needs_nothing_but_the_session_package(
    emulator_live: LiveEmulator,
) -> None:
    # only sessionPtr and frontendRequest reach the browser, as with a real server
    started = await verifier(emulator_live, TokenAuth(EMULATOR_TOKEN)).start(NAME_ADDRESS_BIRTHDATE)
    assert set(started.browser_payload) == {"sessionPtr", "frontendRequest"}
    assert started.handle.reference not in str(started.browser_payload)


async def test_a_forgotten_session_reads_as_timeout(emulator_live: LiveEmulator) -> None:
    client = verifier(emulator_live, TokenAuth(EMULATOR_TOKEN))
    started = await client.start(NAME_ADDRESS_BIRTHDATE)
    emulator_live.clock.advance(120)  # the client asks a 120 s app timeout
    assert await client.status(started.handle) is VerificationStatus.TIMEOUT
    emulator_live.clock.advance(180)  # 5 min after the last activity the result is gone
    assert await client.status(started.handle) is VerificationStatus.TIMEOUT
