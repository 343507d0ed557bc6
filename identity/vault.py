"""The attribute vault: verified values sealed with AES-256-GCM, bound to their row.

Keys come from one config string (``BALIE_VAULT_KEYS``)::

    kid1:base64key,kid0:base64key

a comma-separated list of ``<key id>:<base64 of 32 random bytes>``; the first
key is *active* (seals every new entry), the others only open old entries.
Rotation: put a new key first, keep the old one until :func:`reseal` has
moved every entry (or until the retention has deleted them), then drop it.
:func:`new_key_config_entry` makes an entry.

A sealed value is text: ``v1.<kid>.<nonce>.<ciphertext>`` (base64url, no
padding). The associated data names the format version, the key id, the room
and the verification id, so a ciphertext copied into another row, or
relabelled with another key id, does not open.

Entries carry ``delete_after`` (call end + the purpose's retention);
:func:`open_identity` refuses an entry past it even before the store has
deleted it, so there is no "read after expiry" path.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from identity.errors import ConfigurationError, IdentityError, VaultError
from identity.verifier import VerifiedIdentity, identity_from_data, identity_to_data

FORMAT: Final = "v1"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
KID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeyRing:
    """Vault keys by id; the active one seals, every one opens."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise ConfigurationError("the active vault key is not in the key ring")
        for kid, key in keys.items():
            if not KID_PATTERN.fullmatch(kid):
                raise ConfigurationError("vault key ids are 1-32 letters, digits, - or _")
            if len(key) != KEY_BYTES:
                raise ConfigurationError(f"vault key {kid!r} must be {KEY_BYTES} bytes")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active = active

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active!r}, kids={self.kids!r})"

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    @classmethod
    def from_config(cls, text: str) -> KeyRing:
        """Parse ``kid:base64key,kid:base64key``; the first key is active."""
        keys = parse_key_ring(text)
        return cls(keys, next(iter(keys)))

    def seal(self, plaintext: bytes, *, room: str, verification_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(self.active, room, verification_id)
        ciphertext = self._keys[self.active].encrypt(nonce, plaintext, aad)
        return ".".join((FORMAT, self.active, _b64(nonce), _b64(ciphertext)))

    def open(self, sealed: str, *, room: str, verification_id: str) -> bytes:
        kid, nonce, ciphertext = _split(sealed)
        aead = self._keys.get(kid)
        if aead is None:
            raise VaultError(f"vault entry is sealed with unknown key {kid!r}")
        try:
            return aead.decrypt(nonce, ciphertext, _associated_data(kid, room, verification_id))
        except InvalidTag:
            raise VaultError("vault entry does not open: tampered, or not this row's") from None


def new_key_config_entry(kid: str) -> str:
    """A fresh ``kid:base64key`` entry for ``BALIE_VAULT_KEYS``."""
    if not KID_PATTERN.fullmatch(kid):
        raise ConfigurationError("vault key ids are 1-32 letters, digits, - or _")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def sealed_kid(sealed: str) -> str:
    """The key id a sealed value names (for finding entries to reseal)."""
    return _split(sealed)[0]


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """One verified identity, sealed, for one verification in one room."""

    room: str
    verification_id: str = field(repr=False)
    sealed: str = field(repr=False)
    #: unix seconds after which the entry must be gone
    delete_after: float

    @property
    def kid(self) -> str:
        return sealed_kid(self.sealed)


def seal_identity(
    keys: KeyRing,
    identity: VerifiedIdentity,
    *,
    room: str,
    verification_id: str,
    delete_after: float,
) -> VaultEntry:
    plaintext = json.dumps(identity_to_data(identity), separators=(",", ":")).encode()
    sealed = keys.seal(plaintext, room=room, verification_id=verification_id)
    return VaultEntry(room, verification_id, sealed, delete_after)


def open_identity(keys: KeyRing, entry: VaultEntry, *, now: float) -> VerifiedIdentity:
    """The sealed identity, unless the entry is past ``delete_after`` or does not open."""
    if now >= entry.delete_after:
        raise VaultError("vault entry is past its retention")
    plaintext = keys.open(entry.sealed, room=entry.room, verification_id=entry.verification_id)
    try:
        return identity_from_data(json.loads(plaintext))
    except (ValueError, IdentityError):
        raise VaultError("vault entry holds no readable identity") from None


def reseal(keys: KeyRing, entry: VaultEntry) -> VaultEntry:
    """``entry`` sealed again under the active key (unchanged if it already is)."""
    if entry.kid == keys.active:
        return entry
    plaintext = keys.open(entry.sealed, room=entry.room, verification_id=entry.verification_id)
    sealed = keys.seal(plaintext, room=entry.room, verification_id=entry.verification_id)
    return replace(entry, sealed=sealed)


class VaultStore(Protocol):
    """Where sealed entries live; at most one per (room, verification id)."""

    async def put(self, entry: VaultEntry) -> None:
        """Store ``entry``, replacing one for the same room and verification."""
        ...

    async def get(self, room: str, verification_id: str) -> VaultEntry | None: ...

    async def list_for_room(self, room: str) -> list[VaultEntry]: ...

    async def delete_for_room(self, room: str) -> int:
        """Delete every entry of ``room`` (call end without retention); returns how many."""
        ...

    async def delete_expired(self, now: float) -> int:
        """Delete entries whose ``delete_after`` has passed; returns how many."""
        ...

    async def sealed_with_other_keys(self, active_kid: str, limit: int) -> list[VaultEntry]:
        """Up to ``limit`` entries not sealed with ``active_kid`` (to reseal)."""
        ...


class MemoryVault:
    """The in-process :class:`VaultStore`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], VaultEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, entry: VaultEntry) -> None:
        self._entries[(entry.room, entry.verification_id)] = entry

    async def get(self, room: str, verification_id: str) -> VaultEntry | None:
        return self._entries.get((room, verification_id))

    async def list_for_room(self, room: str) -> list[VaultEntry]:
        return [e for (r, _), e in self._entries.items() if r == room]

    async def delete_for_room(self, room: str) -> int:
        keys = [k for k in self._entries if k[0] == room]
        for key in keys:
            del self._entries[key]
        return len(keys)

    async def delete_expired(self, now: float) -> int:
        keys = [k for k, e in self._entries.items() if now >= e.delete_after]
        for key in keys:
            del self._entries[key]
        return len(keys)

    async def sealed_with_other_keys(self, active_kid: str, limit: int) -> list[VaultEntry]:
        return [e for e in self._entries.values() if e.kid != active_kid][:limit]


async def reseal_all(store: VaultStore, keys: KeyRing, *, batch: int = 100) -> int:
    """Move every entry to the active key; returns how many were resealed."""
    count = 0
    while entries := await store.sealed_with_other_keys(keys.active, batch):
        for entry in entries:
            await store.put(reseal(keys, entry))
            count += 1
    return count


def _associated_data(kid: str, room: str, verification_id: str) -> bytes:
    # JSON, so no separator inside an id can shift one field into the next
    return json.dumps(["balie-vault", FORMAT, kid, room, verification_id]).encode()


def _split(sealed: str) -> tuple[str, bytes, bytes]:
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] != FORMAT or not KID_PATTERN.fullmatch(parts[1]):
        raise VaultError("vault entry is not in the v1 format")
    try:
        nonce, ciphertext = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        raise VaultError("vault entry is not valid base64url") from None
    if _b64(nonce) != parts[2] or _b64(ciphertext) != parts[3]:
        raise VaultError("vault entry is not canonical base64url")
    if len(nonce) != NONCE_BYTES:
        raise VaultError("vault entry has a malformed nonce")
    return parts[1], nonce, ciphertext


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key_ring(text: str, *, what: str = "vault") -> dict[str, bytes]:
    """``kid:base64key,kid:base64key`` as a dict in that order (the first is the active
    key); ``what`` names the ring in errors (the vault's, the bus's)."""
    keys: dict[str, bytes] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not KID_PATTERN.fullmatch(kid):
            raise ConfigurationError(
                f"{what} keys must be 'kid:base64key' entries, comma-separated "
                "(key ids: 1-32 letters, digits, - or _)"
            )
        if kid in keys:
            raise ConfigurationError(f"{what} key id {kid!r} appears twice")
        keys[kid] = _b64decode_key(kid, encoded.strip(), what)
    if not keys:
        raise ConfigurationError(f"no {what} keys configured")
    return keys


def _b64decode_key(kid: str, encoded: str, what: str) -> bytes:
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        if "-" in encoded or "_" in encoded:
            key = base64.urlsafe_b64decode(padded)
        else:
            key = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{what} key {kid!r} is not base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"{what} key {kid!r} must decode to {KEY_BYTES} bytes")
    return key
