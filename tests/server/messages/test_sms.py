"""CM.com's SMS provider (server/messages/sms.py) against a real local HTTP server that checks
each request against CM's documented shape and answers like CM (tests/server/messages/cm.py).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from server.config import Config, MessagesSettings, SmsProviderName
from server.messages.errors import DeliveryDeferred, DeliveryError, DeliveryRefused
from server.messages.sms import (
    CM_URL,
    MAX_PARTS,
    CmSms,
    SmsProvider,
    cm_outcome,
    sms_parts,
    sms_provider,
)
from tests.server.messages.cm import PATH, TOKEN, FakeCm, rejected, shape_problems

MOBILE = "+31612345678"  # the Dutch numbering plan's example mobile number
CM_NUMBER = "0031612345678"
OUTBOX_ID = "0b5e3c1a-7d2f-4e8b-9a61-3f0c2d4e5a6b"
REFERENCE = OUTBOX_ID.replace("-", "")
TEXT = (
    "Uw afspraak bij Gemeente Voorbeeld staat vast: di 3 maart 10:00. Wijzigen: https://x.invalid/m"
)


@pytest.fixture
def fake() -> FakeCm:
    return FakeCm()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def cm_at(
    aiohttp_server: AiohttpServer,
    fake: FakeCm,
    http: aiohttp.ClientSession,
    *,
    token: str = TOKEN,
    timeout: float = 5.0,
) -> CmSms:
    server = await aiohttp_server(fake.app())
    url = str(server.make_url(PATH))
    return CmSms(http, token=token, sender="Gemeente", url=url, timeout=timeout)


def assert_private(error: DeliveryError) -> None:
    """A reason holds neither the number (in any form) nor the text."""
    for private in (MOBILE, CM_NUMBER, "612345678", TEXT, "afspraak"):
        assert private not in str(error) and private not in error.reason


# --- accepted ------------------------------------------------------------------------------


async def test_an_accepted_message_is_sent_in_cms_documented_shape(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    cm: SmsProvider = await cm_at(aiohttp_server, fake, http)  # fits the interface
    assert await cm.send(MOBILE, TEXT, OUTBOX_ID) == REFERENCE
    assert fake.problems == []
    (body,) = fake.seen
    assert body == {
        "messages": {
            "authentication": {"productToken": TOKEN},
            "msg": [
                {
                    "from": "Gemeente",
                    "to": [{"number": CM_NUMBER}],  # 00, country code, number
                    "body": {"type": "auto", "content": TEXT},
                    "reference": REFERENCE,  # the outbox id, so support can trace it
                    "allowedChannels": ["SMS"],
                    "minimumNumberOfMessageParts": 1,
                    "maximumNumberOfMessageParts": MAX_PARTS,
                }
            ],
        }
    }
    (headers,) = fake.headers
    assert headers["X-CM-PRODUCTTOKEN"] == TOKEN
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"


async def test_a_number_however_typed_goes_in_cms_format(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    cm = await cm_at(aiohttp_server, fake, http)
    await cm.send("06-12 34 56 78", TEXT, OUTBOX_ID)
    await cm.send("+32 470 12 34 56", TEXT, OUTBOX_ID)
    numbers = [body["messages"]["msg"][0]["to"][0]["number"] for body in fake.seen]
    assert numbers == [CM_NUMBER, "0032470123456"]
    assert fake.problems == []


async def test_a_text_longer_than_one_sms_goes_in_parts_up_to_the_limit(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    cm = await cm_at(aiohttp_server, fake, http)
    longest = "a" * (153 * MAX_PARTS)
    assert sms_parts(longest) == MAX_PARTS
    await cm.send(MOBILE, longest, OUTBOX_ID)
    assert fake.seen[0]["messages"]["msg"][0]["body"]["content"] == longest

    for too_long in ("a" * (153 * MAX_PARTS + 1), "ë" * (67 * MAX_PARTS + 1)):
        with pytest.raises(DeliveryRefused) as refused:
            await cm.send(MOBILE, too_long, OUTBOX_ID)
        assert refused.value.reason == f"the text needs more than {MAX_PARTS} SMS"
    assert len(fake.seen) == 1  # cut off by CM otherwise: never sent


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two places
        ("€" * 81, 2),
        ("Uw ideeën" + "a" * 61, 1),  # ë is not GSM: the text goes as Unicode, 70 an SMS
        ("Uw ideeën" + "a" * 62, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_parts_are_counted_the_way_the_network_counts_them(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


# --- refused before any request --------------------------------------------------------------


@pytest.mark.parametrize("number", ["020 1234567", "0600000000", "bel me", "", "0900 1234567"])
async def test_a_number_an_sms_cannot_go_to_is_refused_before_any_request(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession, number: str
) -> None:
    cm = await cm_at(aiohttp_server, fake, http)
    with pytest.raises(DeliveryRefused) as refused:
        await cm.send(number, TEXT, OUTBOX_ID)
    assert refused.value.reason.startswith("not a number an SMS can go to")
    assert fake.headers == []  # no request at all
    assert_private(refused.value)


async def test_an_empty_text_or_an_unusable_reference_is_refused_before_any_request(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    cm = await cm_at(aiohttp_server, fake, http)
    with pytest.raises(DeliveryRefused):
        await cm.send(MOBILE, "  ", OUTBOX_ID)
    for reference in ("", "a" * 33, "outbox/1"):
        with pytest.raises(DeliveryRefused):
            await cm.send(MOBILE, TEXT, reference)
    assert fake.headers == []


# --- refused by CM -------------------------------------------------------------------------


async def test_a_number_cm_refuses_fails_for_good_without_the_number_in_the_reason(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    # CM's messageDetails quotes the number: it never reaches the reason
    fake.answer = (400, rejected(CM_NUMBER, REFERENCE, 303, f"Gsm '{CM_NUMBER}' is not a number."))
    cm = await cm_at(aiohttp_server, fake, http)
    with pytest.raises(DeliveryRefused) as refused:
        await cm.send(MOBILE, TEXT, OUTBOX_ID)
    assert refused.value.reason == "CM.com: the number is refused (error 303, HTTP 400)"
    assert_private(refused.value)
    assert fake.problems == []


async def test_a_wrong_product_token_fails_for_good(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    other_account = "22222222-2222-2222-2222-222222222222"  # the right shape, not ours
    cm = await cm_at(aiohttp_server, fake, http, token=other_account)
    with pytest.raises(DeliveryRefused) as refused:
        await cm.send(MOBILE, TEXT, OUTBOX_ID)
    assert refused.value.reason == (
        "CM.com: authentication failed: check BALIE_SMS_TOKEN (error 101, HTTP 400)"
    )
    assert other_account not in str(refused.value)
    assert fake.problems == []


async def test_a_redirect_is_not_followed_and_fails_for_good(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    elsewhere = await aiohttp_server(fake.app())
    redirecting = await aiohttp_server(_redirecting(str(elsewhere.make_url(PATH))))
    cm = CmSms(http, token=TOKEN, sender="Gemeente", url=str(redirecting.make_url(PATH)))
    with pytest.raises(DeliveryRefused) as refused:
        await cm.send(MOBILE, TEXT, OUTBOX_ID)
    assert refused.value.reason == "CM.com refused the message (HTTP 307)"
    assert fake.headers == []  # the token went nowhere else


# --- deferred ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answer", "reason"),
    [
        (500, b"Internal Server Error", "CM.com had trouble (HTTP 500)"),
        (503, b"", "CM.com had trouble (HTTP 503)"),
        (429, b"", "CM.com asks to send more slowly (HTTP 429)"),
        (
            400,
            {"details": "Insufficient balance.", "errorCode": 102, "messages": []},
            "CM.com: the account's balance is too low (error 102, HTTP 400)",
        ),
    ],
)
async def test_trouble_at_cm_is_worth_another_attempt(
    aiohttp_server: AiohttpServer,
    fake: FakeCm,
    http: aiohttp.ClientSession,
    status: int,
    answer: object,
    reason: str,
) -> None:
    fake.answer = (status, answer)
    cm = await cm_at(aiohttp_server, fake, http)
    with pytest.raises(DeliveryDeferred) as deferred:
        await cm.send(MOBILE, TEXT, OUTBOX_ID)
    assert deferred.value.reason == reason
    assert_private(deferred.value)
    assert fake.problems == []


async def test_no_answer_in_time_is_worth_another_attempt(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    fake.hold = True
    cm = await cm_at(aiohttp_server, fake, http, timeout=0.2)
    try:
        with pytest.raises(DeliveryDeferred) as deferred:
            await cm.send(MOBILE, TEXT, OUTBOX_ID)
    finally:
        fake.released.set()
    assert deferred.value.reason == "CM.com did not answer in time"
    assert len(fake.seen) == 1  # the request arrived; the answer did not


async def test_no_connection_is_worth_another_attempt(http: aiohttp.ClientSession) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    cm = CmSms(http, token=TOKEN, sender="Gemeente", url=f"http://127.0.0.1:{port}{PATH}")
    with pytest.raises(DeliveryDeferred) as deferred:
        await cm.send(MOBILE, TEXT, OUTBOX_ID)
    assert deferred.value.reason.startswith("CM.com could not be reached (")
    assert str(port) not in deferred.value.reason


# --- the answer, read without a server -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answer", "outcome"),
    [
        (200, b"", "sent"),  # 200 means accepted; an unreadable body does not undo that
        (200, b"not json", "sent"),
        (400, json.dumps(rejected(CM_NUMBER, REFERENCE, 301, "")).encode(), "refused"),
        (400, json.dumps(rejected(CM_NUMBER, REFERENCE, 401, "")).encode(), "refused"),
        (400, json.dumps(rejected(CM_NUMBER, REFERENCE, 999, "")).encode(), "deferred"),
        (200, json.dumps(rejected(CM_NUMBER, REFERENCE, 402, "")).encode(), "refused"),
        (400, b"{}", "refused"),
        (401, b"", "refused"),
        (404, b"<html>", "refused"),
        (400, json.dumps({"errorCode": "103", "messages": []}).encode(), "refused"),
        (502, json.dumps({"errorCode": 101}).encode(), "deferred"),
    ],
)
def test_every_answer_is_sent_refused_or_deferred(status: int, answer: bytes, outcome: str) -> None:
    try:
        assert cm_outcome(status, answer, REFERENCE) == REFERENCE
        found = "sent"
    except DeliveryRefused:
        found = "refused"
    except DeliveryDeferred:
        found = "deferred"
    assert found == outcome


# --- the checker itself can fail -----------------------------------------------------------


def test_the_stand_in_refuses_a_request_off_cms_shape() -> None:
    good = {
        "messages": {
            "authentication": {"productToken": TOKEN},
            "msg": [
                {
                    "from": "Gemeente",
                    "to": [{"number": CM_NUMBER}],
                    "body": {"type": "auto", "content": "x"},
                }
            ],
        }
    }
    json_type = {"Content-Type": "application/json"}
    assert shape_problems("POST", PATH, json_type, json.dumps(good).encode()) == []
    msg = good["messages"]["msg"][0]  # type: ignore[index]
    for change in (
        {"to": [{"number": MOBILE}]},  # E.164 with its +: not CM's format
        {"to": [{"number": "0612345678"}]},  # national: not CM's format
        {"from": "Gemeente Voorbeeld"},  # more than 11 characters
        {"reference": OUTBOX_ID},  # hyphens, 36 characters
        {"body": {"content": "x"}},
        {"maximumNumberOfMessageParts": 3},  # without the minimum
        {"text": "x"},
    ):
        bad = json.loads(json.dumps(good))
        bad["messages"]["msg"][0] = msg | change
        assert shape_problems("POST", PATH, json_type, json.dumps(bad).encode()), change
    assert shape_problems("GET", PATH, json_type, json.dumps(good).encode())
    assert shape_problems("POST", "/message", json_type, json.dumps(good).encode())
    assert shape_problems("POST", PATH, {"Content-Type": "text/plain"}, json.dumps(good).encode())
    other_token = json_type | {"X-CM-PRODUCTTOKEN": "11111111-1111-1111-1111-111111111111"}
    assert shape_problems("POST", PATH, other_token, json.dumps(good).encode())
    assert shape_problems("POST", PATH, json_type, json.dumps(good).encode()[:-1])


# --- the factory ---------------------------------------------------------------------------


async def test_the_provider_is_the_configured_one(
    aiohttp_server: AiohttpServer, fake: FakeCm, http: aiohttp.ClientSession
) -> None:
    assert sms_provider(MessagesSettings(), http) is None  # BALIE_SMS_PROVIDER=none
    server = await aiohttp_server(fake.app())
    settings = MessagesSettings(
        sms_provider=SmsProviderName.CM,
        sms_token=TOKEN,
        sms_sender="Voorbeeld",
        sms_url=str(server.make_url(PATH)),
    )
    provider = sms_provider(settings, http)
    assert isinstance(provider, CmSms) and TOKEN not in repr(provider)
    assert await provider.send(MOBILE, TEXT, OUTBOX_ID) == REFERENCE
    assert fake.seen[0]["messages"]["msg"][0]["from"] == "Voorbeeld"
    assert fake.problems == []

    default = sms_provider(MessagesSettings(sms_provider=SmsProviderName.CM, sms_token=TOKEN), http)
    assert isinstance(default, CmSms) and CM_URL in repr(default)


async def test_the_factory_takes_the_whole_config_too(http: aiohttp.ClientSession) -> None:
    config = Config(messages=MessagesSettings(sms_provider=SmsProviderName.CM, sms_token=TOKEN))
    assert isinstance(sms_provider(config, http), CmSms)
    assert sms_provider(Config(), http) is None


def _redirecting(location: str) -> web.Application:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location)

    app = web.Application()
    app.router.add_post(PATH, redirect)
    return app
