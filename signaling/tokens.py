"""Room tokens: short-lived EdDSA JWTs that seat one participant in one room.

Keys come only from a :class:`KeySet` the operator provisions (a static map
from ``kid`` to key). The algorithm is fixed to EdDSA, every time claim is
required, and headers that point elsewhere for a key (``jwk``, ``jku``,
``x5u``, ``x5c``) or demand unknown extensions (``crit``) are refused before
the signature is even looked at.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from signaling.channels import Channel
from signaling.errors import TokenError, TokenExpired, TokenNotYetValid
from signaling.messages import ID_PATTERN
from signaling.roles import Role

ALGORITHM: Final = "EdDSA"
AUDIENCE: Final = "balie:room"
LEEWAY_SECONDS: Final = 30
_FOREIGN_KEY_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})


@dataclass(frozen=True, slots=True)
class RoomClaims:
    room: str
    participant_id: str
    role: Role
    expires_at: int
    #: the purpose whose disclosure policy gates a resident's entry, if any
    purpose: str | None = None
    #: the municipality (tenant) the room belongs to; set whenever ``purpose`` is
    tenant: str | None = None
    #: the token works from this instant (unix seconds): an appointment's call opens then
    not_before: int = 0
    #: what the pages send: video (the default, and every token without the claim), voice, chat
    channel: Channel = Channel.VIDEO
    #: the room is a walk-in counter's: the resident queues after the identity step
    walkin: bool = False


class KeySet:
    """Signing and verification keys by ``kid``; the newest key signs.

    Rotation: add a key (it becomes the signer), keep the old ones until every
    token they signed has expired, then remove them. A running node follows its key file
    through :attr:`follow`, which the owner of the file sets: it is called before signing and
    when a token names a key id the set does not hold, and calls :meth:`adopt` with what the
    file holds now, so a key another node already signs with verifies here too.
    """

    def __init__(self, keys: dict[str, Ed25519PrivateKey | Ed25519PublicKey], active: str) -> None:
        if active not in keys or not isinstance(keys[active], Ed25519PrivateKey):
            raise ValueError(f"active key {active!r} must be a private key in the set")
        self._keys = dict(keys)
        self.active = active
        self.follow: Callable[[], None] | None = None

    def adopt(self, other: KeySet) -> None:
        """Take ``other``'s keys and signer (a rotation reaching a running node)."""
        self._keys, self.active = dict(other._keys), other.active

    @classmethod
    def generate(cls) -> KeySet:
        kid = _new_kid()
        return cls({kid: Ed25519PrivateKey.generate()}, kid)

    def rotated(self) -> KeySet:
        """A copy with a fresh signing key added."""
        kid = _new_kid()
        return KeySet({**self._keys, kid: Ed25519PrivateKey.generate()}, kid)

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The active key id and its key, read together after catching up with the file."""
        if self.follow is not None:
            self.follow()
        kid = self.active
        key = self._keys[kid]
        assert isinstance(key, Ed25519PrivateKey)  # checked in __init__
        return kid, key

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        if kid not in self._keys and self.follow is not None:
            self.follow()
        key = self._keys.get(kid)
        if isinstance(key, Ed25519PrivateKey):
            return key.public_key()
        return key

    def to_json(self) -> str:
        keys = []
        for kid, key in self._keys.items():
            if isinstance(key, Ed25519PrivateKey):
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                keys.append({"kid": kid, "private_pem": pem.decode()})
            else:
                pem = key.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                keys.append({"kid": kid, "public_pem": pem.decode()})
        return json.dumps({"active": self.active, "keys": keys}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> KeySet:
        try:
            data = json.loads(text)
            keys: dict[str, Ed25519PrivateKey | Ed25519PublicKey] = {}
            for entry in data["keys"]:
                key: object
                if "private_pem" in entry:
                    key = serialization.load_pem_private_key(
                        entry["private_pem"].encode(), password=None
                    )
                else:
                    key = serialization.load_pem_public_key(entry["public_pem"].encode())
                if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
                    raise ValueError(f"key {entry['kid']!r} is not an Ed25519 key")
                keys[str(entry["kid"])] = key
            return cls(keys, str(data["active"]))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"room key file is malformed: {exc.__class__.__name__}") from None


def issue_room_token(
    keys: KeySet,
    *,
    issuer: str,
    room: str,
    participant_id: str,
    role: Role,
    now: int,
    ttl: int,
    not_before: int | None = None,
    purpose: str | None = None,
    tenant: str | None = None,
    channel: Channel = Channel.VIDEO,
    walkin: bool = False,
) -> str:
    """Sign a token that seats ``participant_id`` in ``room`` as ``role``.

    ``purpose`` names the appointment's purpose, so whoever checks the token
    knows which disclosure policy a resident must satisfy before the lobby. ``channel``
    and ``walkin`` are claims only when they differ from an appointment's video call.
    """
    if (purpose is None) != (tenant is None):
        raise ValueError("purpose and tenant go together: a purpose belongs to a tenant")
    named = [("room", room), ("participant_id", participant_id)]
    if purpose is not None and tenant is not None:
        named += [("purpose", purpose), ("tenant", tenant)]
    for name, value in named:
        if not ID_PATTERN.fullmatch(value):
            raise ValueError(f"{name} must be an id of letters, digits, - or _")
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": participant_id,
        "room": room,
        "role": role.value,
        "iat": now,
        "nbf": now if not_before is None else not_before,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    if purpose is not None and tenant is not None:
        claims["purpose"] = purpose
        claims["tenant"] = tenant
    if channel is not Channel.VIDEO:
        claims["channel"] = channel.value
    if walkin:
        claims["walkin"] = True
    kid, key = keys.signer()
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


def verify_room_token(keys: KeySet, token: str, *, issuer: str, early: bool = False) -> RoomClaims:
    """Check a room token and return its claims, or raise :class:`TokenError`.

    ``early`` accepts a token whose time has not come yet (every other check still holds):
    the call page asks when its call opens before it may join.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("token is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise TokenError("token algorithm is not allowed")
    if _FOREIGN_KEY_HEADERS & header.keys():
        raise TokenError("token header names a key source or extension we do not accept")
    kid = header.get("kid")
    key = keys.public_key(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError("token key id is unknown")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["iss", "aud", "sub", "exp", "nbf", "iat", "jti"],
                "strict_aud": True,
                # nbf is checked below: "too early" is not a forgery, unlike an iat ahead
                "verify_nbf": False,
            },
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("token has expired") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"token refused: {exc.__class__.__name__}") from None
    not_before = claims["nbf"]
    if not isinstance(not_before, int | float):
        raise TokenError("token has no valid nbf claim")
    if not early and not_before > time.time() + LEEWAY_SECONDS:
        raise TokenNotYetValid("token is not valid yet")
    room, sub, role = claims.get("room"), claims.get("sub"), claims.get("role")
    if not isinstance(room, str) or not ID_PATTERN.fullmatch(room):
        raise TokenError("token has no valid room claim")
    if not isinstance(sub, str) or not ID_PATTERN.fullmatch(sub):
        raise TokenError("token has no valid subject")
    try:
        parsed_role = Role(str(role))
    except ValueError:
        raise TokenError("token has no valid role") from None
    purpose, tenant = claims.get("purpose"), claims.get("tenant")
    if (purpose is None) != (tenant is None):
        raise TokenError("token names a purpose without a tenant, or the reverse")
    for name, value in (("purpose", purpose), ("tenant", tenant)):
        if value is not None and (not isinstance(value, str) or not ID_PATTERN.fullmatch(value)):
            raise TokenError(f"token has no valid {name} claim")
    try:
        channel = Channel(claims.get("channel", Channel.VIDEO.value))
    except ValueError:
        raise TokenError("token has no valid channel claim") from None
    walkin = claims.get("walkin", False)
    if not isinstance(walkin, bool):
        raise TokenError("token has no valid walkin claim")
    return RoomClaims(
        room,
        sub,
        parsed_role,
        int(claims["exp"]),
        purpose,
        tenant,
        int(not_before),
        channel,
        walkin,
    )


def _new_kid() -> str:
    return "k" + secrets.token_hex(6)
