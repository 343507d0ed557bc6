"""SMS through a provider: the interface the outbox sends with, and CM.com's Business
Messaging API (docs/messages.md, "SMS"), the one implementation.

CM.com (CM Telecom, Breda) is the SMS provider many Dutch municipalities contract. Its JSON
gateway takes one POST per message::

    POST https://gw.messaging.cm.com/v1.0/message
    X-CM-PRODUCTTOKEN: <product token>
    {"messages": {"authentication": {"productToken": "<product token>"},
                  "msg": [{"from": "Gemeente", "to": [{"number": "0031612345678"}],
                           "body": {"type": "auto", "content": "..."},
                           "reference": "<outbox id, 32 letters and digits>",
                           "allowedChannels": ["SMS"],
                           "minimumNumberOfMessageParts": 1,
                           "maximumNumberOfMessageParts": 3}]}}

and answers ``{"details": ..., "errorCode": 0, "messages": [{"to", "status": "Accepted" |
"Rejected", "reference", "parts", "messageDetails", "messageErrorCode"}]}``: HTTP 200 when
the message was accepted, 400 when the request or the message was refused, 5xx when CM had
trouble. Accepted is not delivered: CM delivers asynchronously, and its status report (keyed
by our reference) says whether the phone got it.

The answer becomes an outcome here, by the pure :func:`cm_outcome`: accepted is sent,
refusals CM documents as final (a wrong product token, a refused number or sender, spam) are
:class:`~server.messages.errors.DeliveryRefused`, CM's own trouble, a timeout or no
connection are :class:`~server.messages.errors.DeliveryDeferred`. A reason names CM's error
code, never the number or the text: CM's ``messageDetails`` may quote the number, so it is
never read into a reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Final, Protocol

import aiohttp

from server.config import Config, MessagesSettings, SmsProviderName
from server.messages.errors import BadPhoneNumber, DeliveryDeferred, DeliveryRefused
from server.messages.phones import mobile_number, problem_of

#: CM.com's global endpoint (behind Cloudflare: see docs/messages.md for the alternative)
CM_URL: Final = "https://gw.messaging.cm.com/v1.0/message"
#: the most SMS one message may take. A confirmation with its link fits in two; three leaves
#: room for a long purpose name in a longer language, and caps what one message can cost.
MAX_PARTS: Final = 3
#: CM's reference: 1 to 32 letters and digits
_CM_REFERENCE: Final = re.compile(r"[A-Za-z0-9]{1,32}")
#: more of an answer than CM ever sends is not read (a wrong BALIE_SMS_URL may serve a page)
_MAX_ANSWER: Final = 64 * 1024

# GSM 03.38, the 7-bit alphabet of an SMS: a text of only these characters fits 160 to a
# message (153 a part); one other character and the whole text goes as UCS-2, 70 (67 a part).
# The extension characters take two of the 160 places (an escape and the character).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION: Final = frozenset("^{}\\[~]|€\f")


class SmsProvider(Protocol):
    """Sends one SMS. Raises :class:`~server.messages.errors.DeliveryRefused` when sending
    again cannot help (also for a number that is not a mobile one, before any request), and
    :class:`~server.messages.errors.DeliveryDeferred` when a later attempt may succeed."""

    async def send(self, to: str, text: str, reference: str) -> str:
        """Send ``text`` to ``to`` (E.164); ``reference`` is the outbox message's id, which
        the provider keeps with the message so support can trace it. Returns the provider's
        reference for the message."""
        ...


class CmSms:
    """CM.com's Business Messaging API over ``session``; one POST per message."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        token: str,
        sender: str,
        url: str = CM_URL,
        timeout: float = 30.0,
    ) -> None:
        self._session = session
        self._token = token
        self._sender = sender
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"CmSms(url={self._url!r}, sender={self._sender!r})"  # never the token

    async def send(self, to: str, text: str, reference: str) -> str:
        cm_ref = cm_reference(reference)
        body = cm_request(to, text, cm_ref, token=self._token, sender=self._sender)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            # CM's recommended place for the token; the body carries it too, the way every CM
            # gateway (also the older gw.cmtelecom.com) takes it
            "X-CM-PRODUCTTOKEN": self._token,
        }
        try:
            async with self._session.post(
                self._url,
                data=json.dumps(body).encode(),
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # a redirect would carry the token elsewhere
            ) as response:
                status = response.status
                try:
                    answer = await response.content.read(_MAX_ANSWER)
                except (aiohttp.ClientError, TimeoutError):
                    # the status has been said: a 200 lost on the way is still accepted, and
                    # sending it again would give the resident the SMS twice
                    answer = b""
        except TimeoutError:
            raise DeliveryDeferred("CM.com did not answer in time") from None
        except (aiohttp.ClientError, OSError) as error:
            # the class only: its message may hold the URL
            reason = f"CM.com could not be reached ({type(error).__name__})"
            raise DeliveryDeferred(reason) from None
        return cm_outcome(status, answer, cm_ref)


def sms_provider(
    config: Config | MessagesSettings, session: aiohttp.ClientSession
) -> SmsProvider | None:
    """The provider BALIE_SMS_PROVIDER names, or None (no SMS: the outbox says so). Each
    request is bounded by BALIE_SMS_TIMEOUT."""
    settings = config.messages if isinstance(config, Config) else config
    if settings.sms_provider is SmsProviderName.CM:
        return CmSms(
            session,
            token=settings.sms_token,
            sender=settings.sms_sender,
            url=settings.sms_url or CM_URL,
            timeout=settings.sms_timeout,
        )
    return None


# --- CM.com's request and answer (pure) ----------------------------------------------------


def cm_number(to: str) -> str:
    """CM's number format for a mobile number: 00, the country code, the number
    (``0031612345678``); :class:`DeliveryRefused` for anything an SMS cannot go to."""
    try:
        e164 = mobile_number(to)
    except BadPhoneNumber as error:
        raise DeliveryRefused(f"not a number an SMS can go to: {problem_of(error)}") from None
    return "00" + e164[1:]


def cm_reference(reference: str) -> str:
    """The outbox id as CM's reference: 1 to 32 letters and digits (a UUID without its
    hyphens is 32)."""
    compact = reference.replace("-", "")
    if not _CM_REFERENCE.fullmatch(compact):
        raise DeliveryRefused("the reference does not fit CM.com's 32 letters and digits")
    return compact


def sms_parts(text: str) -> int:
    """How many SMS ``text`` takes, the way the network counts them."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text):
        length = sum(2 if ch in _GSM_EXTENSION else 1 for ch in text)
        single, part = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2  # an emoji takes two places
        single, part = 70, 67
    return 1 if length <= single else math.ceil(length / part)


def cm_request(
    to: str, text: str, reference: str, *, token: str, sender: str
) -> dict[str, dict[str, object]]:
    """The JSON body of one message; refuses what CM would refuse or cut short."""
    number = cm_number(to)
    if not text.strip():
        raise DeliveryRefused("the text is empty")
    if sms_parts(text) > MAX_PARTS:
        # CM would cut it off after the last part it may use: better not sent than half
        raise DeliveryRefused(f"the text needs more than {MAX_PARTS} SMS")
    message = {
        "from": sender,
        "to": [{"number": number}],
        "body": {"type": "auto", "content": text},  # CM picks GSM-7 or Unicode
        "reference": reference,
        # never WhatsApp, Viber or RCS, even when the account has them: the resident gave a
        # number for an SMS
        "allowedChannels": ["SMS"],
        "minimumNumberOfMessageParts": 1,
        "maximumNumberOfMessageParts": MAX_PARTS,
    }
    return {"messages": {"authentication": {"productToken": token}, "msg": [message]}}


#: CM's documented error codes (top-level ``errorCode`` or per message ``messageErrorCode``):
#: what each means, and whether a later attempt may succeed
_CM_ERRORS: Final[dict[int, tuple[str, bool]]] = {
    101: ("authentication failed: check BALIE_SMS_TOKEN", False),
    102: ("the account's balance is too low", True),  # once topped up, sending works again
    103: ("the product token is not right: check BALIE_SMS_TOKEN", False),
    201: ("the message was not accepted", False),
    202: ("the request is malformed", False),
    203: ("the message list is malformed", False),
    301: ("the sender is refused: check BALIE_SMS_SENDER", False),
    302: ("the recipient is refused", False),
    303: ("the number is refused", False),
    304: ("the text is refused", False),
    305: ("a field is refused", False),
    401: ("the message was filtered as spam", False),
    402: ("the number is on a block list", False),
    403: ("the message was rejected", False),
    500: ("CM.com had an internal error", True),
    999: ("CM.com had an unknown error", True),
}


def cm_outcome(status: int, answer: bytes, reference: str) -> str:
    """The outcome of CM's answer to one message: ``reference`` when CM accepted it, else
    the refusal or deferral it amounts to."""
    parsed = _json_object(answer)
    ours = _our_message(parsed)
    rejected = ours is not None and str(ours.get("status", "")).lower() == "rejected"
    if 200 <= status < 300 and not rejected:
        return reference
    if status == 429:
        raise DeliveryDeferred("CM.com asks to send more slowly (HTTP 429)")
    if status >= 500:
        raise DeliveryDeferred(f"CM.com had trouble (HTTP {status})")
    code = _code(ours, "messageErrorCode") if rejected else None
    if code is None:
        code = _code(parsed, "errorCode")
    if code in _CM_ERRORS:
        meaning, retry = _CM_ERRORS[code]
        error = DeliveryDeferred if retry else DeliveryRefused
        raise error(f"CM.com: {meaning} (error {code}, HTTP {status})")
    if status in (401, 403):
        raise DeliveryRefused(f"CM.com refused the product token (HTTP {status})")
    # another 4xx, a redirect (BALIE_SMS_URL points elsewhere) or an unknown code: sending
    # the same request again will get the same answer
    raise DeliveryRefused(f"CM.com refused the message (HTTP {status})")


def _json_object(answer: bytes) -> Mapping[str, object]:
    try:
        parsed = json.loads(answer)
    except ValueError:  # also UnicodeDecodeError
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _our_message(parsed: Mapping[str, object]) -> Mapping[str, object] | None:
    # one msg with one number: the first (only) entry is ours
    messages = parsed.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return messages[0]
    return None


def _code(found: Mapping[str, object] | None, key: str) -> int | None:
    value = None if found is None else found.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)  # the SDKs read messageErrorCode as a string
    return None
