"""Disclosure session requests as the emulator reads them (research §1.3), without I/O.

A request is a conjunction of disjunctions of conjunctions ("condiscon")::

    {"@context": "https://irma.app/ld/request/disclosure/v2",
     "disclose": [[["irma-demo.gemeente.personalData.bsn"]],
                  [[], ["irma-demo.sidn-pbdf.email.email"]]]}

An inner item is an attribute id, or ``{"type": id, "value": v|null,
"notNull": bool}``. An empty inner conjunction makes its disjunction optional.
The extended form wraps it: ``{"request": {...}, "validity": 120, "timeout": 300}``.

What irmago refuses is refused here with its code, ``400 INVALID_REQUEST`` (the
requestor server wraps every parse or validation error of ``server.ParseSessionRequest``
so), and where the rule is irmago's, with its words: ``DisclosureRequest.Validate`` and
``AttributeCon.Validate`` in ``irma/requests.go``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeGuard

from identity.emulator.errors import INVALID_REQUEST, RemoteError

DISCLOSURE_CONTEXT: Final = "https://irma.app/ld/request/disclosure/v2"
#: result-JWT lifetime when the request names none (irmago ``DefaultJwtValidity``)
DEFAULT_VALIDITY_S: Final = 120
#: ``scheme.issuer.credential.attribute``
ATTRIBUTE_ID: Final = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){3}")
#: fields of the extended request the emulator can honour or safely ignore
_EXTENDED_FIELDS: Final = frozenset({"request", "validity", "timeout"})
#: extended fields the emulator does not implement; refused rather than ignored
_UNSUPPORTED_EXTENDED: Final = frozenset({"callbackUrl", "nextSession"})
_LIMIT: Final = 64


def _malformed(message: str) -> RemoteError:
    return RemoteError(INVALID_REQUEST, message)


@dataclass(frozen=True)
class AttributeRequest:
    """One requested attribute: its id, an optional required value, and ``notNull``."""

    id: str
    value: str | None = None
    not_null: bool = False

    def accepts(self, rawvalue: str | None) -> bool:
        """Whether a disclosed ``rawvalue`` satisfies this request (irmago ``Satisfy``)."""
        if rawvalue is None:
            return not self.not_null and self.value is None
        return self.value is None or rawvalue == self.value


Conjunction = tuple[AttributeRequest, ...]
Disjunction = tuple[Conjunction, ...]


@dataclass(frozen=True)
class DisclosureRequest:
    """A parsed disclosure request; ``raw`` is the JSON as the requestor sent it."""

    disclose: tuple[Disjunction, ...]
    raw: Mapping[str, object]

    @property
    def has_fixed_values(self) -> bool:
        """Whether any attribute must have a fixed value: then the server asks for pairing."""
        return any(
            attr.value is not None
            for disjunction in self.disclose
            for conjunction in disjunction
            for attr in conjunction
        )

    @property
    def attribute_ids(self) -> frozenset[str]:
        return frozenset(
            attr.id
            for disjunction in self.disclose
            for conjunction in disjunction
            for attr in conjunction
        )


@dataclass(frozen=True)
class SessionRequest:
    """An extended session request: the disclosure request and its lifetimes.

    ``timeout_s`` is how long the app may take to connect; ``None`` (or 0 in the JSON)
    means the server's maximum session lifetime, as in irmago's ``sessionData.timeout``.
    """

    request: DisclosureRequest
    validity_s: int = DEFAULT_VALIDITY_S
    timeout_s: int | None = None


def parse_session_request(body: object) -> SessionRequest:
    """A plain or extended disclosure request; :class:`RemoteError` if malformed."""
    if not isinstance(body, Mapping):
        raise _malformed("the session request must be a JSON object")
    if "request" not in body:
        return SessionRequest(parse_disclosure_request(body))
    unsupported = sorted(_UNSUPPORTED_EXTENDED & body.keys())
    if unsupported:
        raise _malformed(f"the emulator does not support {', '.join(unsupported)}")
    unknown = sorted(set(body.keys()) - _EXTENDED_FIELDS)
    if unknown:
        raise _malformed(f"unknown fields in the extended request: {', '.join(unknown)}")
    return SessionRequest(
        parse_disclosure_request(body["request"]),
        validity_s=_seconds(body, "validity") or DEFAULT_VALIDITY_S,
        timeout_s=_seconds(body, "timeout"),
    )


def _seconds(body: Mapping[str, object], key: str) -> int | None:
    """A lifetime in seconds; ``None`` when absent or 0, which means "the default" there."""
    value = body.get(key, 0)
    if value == 0:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 86_400:
        raise _malformed(f"{key} must be a whole number of seconds between 1 and 86400")
    return value


def parse_disclosure_request(body: object) -> DisclosureRequest:
    if not isinstance(body, Mapping):
        raise _malformed("the disclosure request must be a JSON object")
    context = body.get("@context")
    if context != DISCLOSURE_CONTEXT:
        raise _malformed(f"@context must be {DISCLOSURE_CONTEXT!r} (only disclosure sessions)")
    raw_disclose = body.get("disclose")
    if not _is_list(raw_disclose) or not raw_disclose:
        raise _malformed("disclose must be a non-empty list of disjunctions")
    if len(raw_disclose) > _LIMIT:
        raise _malformed("disclose has too many disjunctions")
    disclose = tuple(_disjunction(item, i) for i, item in enumerate(raw_disclose))
    if not any(conjunction for disjunction in disclose for conjunction in disjunction):
        raise _malformed("Disclosure request had no attributes")
    return DisclosureRequest(disclose, dict(body))


def _disjunction(item: object, index: int) -> Disjunction:
    if not _is_list(item) or not item:
        raise _malformed(f"disjunction {index} must be a non-empty list of conjunctions")
    if len(item) > _LIMIT:
        raise _malformed(f"disjunction {index} has too many conjunctions")
    return tuple(_conjunction(inner, index) for inner in item)


def _conjunction(inner: object, index: int) -> Conjunction:
    if not _is_list(inner):
        raise _malformed(f"disjunction {index}: each conjunction must be a list")
    if len(inner) > _LIMIT:
        raise _malformed(f"disjunction {index}: a conjunction has too many attributes")
    attributes = tuple(_attribute(entry, index) for entry in inner)
    ids = [attr.id for attr in attributes]
    if len(set(ids)) != len(ids):
        raise _malformed(f"disjunction {index}: an attribute appears twice in one conjunction")
    # a real server refuses the whole request when one credential type comes back after
    # another type in between; the app discloses per credential, in request order
    seen: list[str] = []
    for attribute_id in ids:
        credential = attribute_id.rsplit(".", 1)[0]
        if credential in seen[:-1]:
            raise _malformed(
                f"disjunction {index}: Within inner conjunctions, attributes from the same "
                "credential type must be adjacent"
            )
        if not seen or seen[-1] != credential:
            seen.append(credential)
    return attributes


def _attribute(entry: object, index: int) -> AttributeRequest:
    if isinstance(entry, str):
        return AttributeRequest(_attribute_id(entry, index))
    if not isinstance(entry, Mapping):
        raise _malformed(f"disjunction {index}: an attribute must be an id or an object")
    unknown = sorted(set(entry.keys()) - {"type", "value", "notNull"})
    if unknown:
        raise _malformed(f"disjunction {index}: unknown attribute fields {', '.join(unknown)}")
    value = entry.get("value")
    not_null = entry.get("notNull", False)
    if value is not None and not isinstance(value, str):
        raise _malformed(f"disjunction {index}: a required value must be a string or null")
    if not isinstance(not_null, bool):
        raise _malformed(f"disjunction {index}: notNull must be true or false")
    return AttributeRequest(_attribute_id(entry.get("type"), index), value, not_null)


def _attribute_id(value: object, index: int) -> str:
    if not isinstance(value, str) or not ATTRIBUTE_ID.fullmatch(value):
        # credential-type requests (three parts) exist at the real server, not here
        raise _malformed(
            f"disjunction {index}: attributes must be ids of the form "
            "scheme.issuer.credential.attribute"
        )
    return value


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
