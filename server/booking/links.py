"""Signed manage links: cancel or reschedule one appointment without an account.

A link carries (tenant, appointment id, version, expiry) under an HMAC-SHA256 tag. It
expires when the appointment starts, and it dies as soon as the appointment changes: every
change increments the version, and the service only accepts a link whose version is the
current one (and then uses that version for its compare-and-swap). Nothing personal is in
it; the ids are random.

Why HMAC and not the EdDSA :class:`~signaling.tokens.KeySet` of room tokens: Balie both
issues and checks these links, so nobody needs a public key, and a 32-byte tag keeps an
e-mailed URL short. Separate keys also keep lifetimes apart: a manage link lives for weeks
(until the appointment), a room token for hours, and a key set must keep each old key until
its last token expires; sharing one set would keep room keys alive for weeks.

Format: ``m1.<kid>.<payload>.<tag>``, base64url without padding; the tag covers everything
before it, including the version prefix and the key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from server.booking.errors import LinkExpired, LinkInvalid

PREFIX: Final = "m1"
_KEY_BYTES: Final = 32
_MAX_TOKEN: Final = 1024


@dataclass(frozen=True, slots=True)
class ManageClaims:
    tenant_id: str
    appointment_id: str
    version: int
    expires_at: datetime  #: the appointment's start


class LinkKeys:
    """HMAC keys by id; the active one signs, all verify. Rotate by adding a key and keeping
    the old ones until the last appointment they signed a link for has started. A running
    node follows its key file through :attr:`follow` (as :class:`~signaling.tokens.KeySet`
    does): called before signing and for an unknown key id, it adopts the file (:meth:`adopt`)."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError(f"active link key {active!r} is not in the set")
        for kid, key in keys.items():
            if not kid or "." in kid:
                raise ValueError(f"link key id {kid!r} must be non-empty without dots")
            if len(key) < _KEY_BYTES:
                raise ValueError(f"link key {kid!r} must be at least {_KEY_BYTES} bytes")
        self._keys = dict(keys)
        self.active = active
        self.follow: Callable[[], None] | None = None

    def adopt(self, other: LinkKeys) -> None:
        """Take ``other``'s keys and signer (a rotation reaching a running node)."""
        self._keys, self.active = dict(other._keys), other.active

    @classmethod
    def generate(cls) -> LinkKeys:
        kid = secrets.token_hex(4)
        return cls({kid: secrets.token_bytes(_KEY_BYTES)}, kid)

    def rotated(self) -> LinkKeys:
        kid = secrets.token_hex(4)
        return LinkKeys({**self._keys, kid: secrets.token_bytes(_KEY_BYTES)}, kid)

    def to_json(self) -> str:
        keys = {kid: _encode(key) for kid, key in self._keys.items()}
        return json.dumps({"active": self.active, "keys": keys})

    @classmethod
    def from_json(cls, text: str) -> LinkKeys:
        data = json.loads(text)
        return cls({kid: _decode(key) for kid, key in data["keys"].items()}, data["active"])

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def signer(self) -> tuple[str, bytes]:
        """The active key id and its key, read together after catching up with the file."""
        if self.follow is not None:
            self.follow()
        kid = self.active
        return kid, self._keys[kid]

    def key(self, kid: str) -> bytes | None:
        if kid not in self._keys and self.follow is not None:
            self.follow()
        return self._keys.get(kid)

    def pseudonym(self, kind: str, value: str) -> str:
        """A keyed pseudonym of ``value`` (a client address, a browser id): equal values give
        equal pseudonyms on every node, and without the key nobody can tell whose it is,
        not even by trying every IPv4 address. Changes when the active key rotates."""
        _, key = self.signer()
        message = f"balie/pseudonym/{kind}/{value}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def issue_manage_link(
    keys: LinkKeys, tenant_id: str, appointment_id: str, version: int, expires_at: datetime
) -> str:
    """A token for the appointment at ``version``, valid until ``expires_at`` (its start)."""
    payload = json.dumps(
        [tenant_id, appointment_id, version, int(expires_at.timestamp())], separators=(",", ":")
    )
    kid, key = keys.signer()
    signed = f"{PREFIX}.{kid}.{_encode(payload.encode())}"
    return f"{signed}.{_encode(_tag(key, signed))}"


def verify_manage_link(keys: LinkKeys, token: str, *, now: datetime) -> ManageClaims:
    """The claims of a genuine, unexpired token; raises :class:`LinkInvalid` or
    :class:`LinkExpired`. Whether the appointment is still at that version is the service's
    check (:meth:`BookingService.open_manage_link`)."""
    if len(token) > _MAX_TOKEN:
        raise LinkInvalid("manage link is too long")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise LinkInvalid("manage link is malformed")
    _, kid, payload_text, tag_text = parts
    key = keys.key(kid)
    if key is None:
        raise LinkInvalid("manage link is signed with an unknown key")
    try:
        tag = _decode(tag_text)
        # Check the tag before reading the payload: nothing unauthenticated is parsed.
        if not hmac.compare_digest(tag, _tag(key, f"{PREFIX}.{kid}.{payload_text}")):
            raise LinkInvalid("manage link signature does not match")
        tenant_id, appointment_id, version, expires = json.loads(_decode(payload_text))
    except (binascii.Error, ValueError, TypeError) as error:
        raise LinkInvalid("manage link is malformed") from error
    if not (
        isinstance(tenant_id, str)
        and isinstance(appointment_id, str)
        and type(version) is int
        and type(expires) is int
    ):
        raise LinkInvalid("manage link is malformed")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise LinkExpired(f"manage link expired at {expires_at.isoformat()} (appointment start)")
    return ManageClaims(tenant_id, appointment_id, version, expires_at)


def _tag(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
