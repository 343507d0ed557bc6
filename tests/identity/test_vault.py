"""The attribute vault: AES-256-GCM bound to its row, key rotation, retention."""

from __future__ import annotations

import base64

import pytest

from identity.errors import ConfigurationError, VaultError
from identity.policy import Tag
from identity.vault import (
    KeyRing,
    MemoryVault,
    VaultEntry,
    new_key_config_entry,
    open_identity,
    reseal,
    reseal_all,
    seal_identity,
)
from identity.verifier import VerifiedIdentity
from tests.identity.results import FAKE_BSN, FAKE_NAME

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(32, 64))).decode()
IDENTITY = VerifiedIdentity(
    verifier="yivi",
    purpose="wmo-intake",
    values={"bsn": FAKE_BSN, "full_name": FAKE_NAME},
    tags=frozenset({Tag.BSN, Tag.FULL_NAME}),
    attribute_ids=("pbdf.gemeente.personalData.bsn", "pbdf.gemeente.personalData.fullname"),
    issuers=("pbdf.gemeente",),
    verified_at=1_000,
)


def sealed(
    keys: KeyRing, room: str = "room-a", vid: str = "v1", delete_after: float = 5_000
) -> VaultEntry:
    return seal_identity(keys, IDENTITY, room=room, verification_id=vid, delete_after=delete_after)


def test_round_trip() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    entry = sealed(keys)
    assert entry.kid == "k1"
    assert FAKE_BSN not in entry.sealed and FAKE_NAME not in entry.sealed
    assert open_identity(keys, entry, now=1_000) == IDENTITY


def test_reprs_show_no_values_or_keys() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    entry = sealed(keys)
    assert entry.sealed not in repr(entry)
    assert KEY_A not in repr(keys) and "k1" in repr(keys)
    assert FAKE_BSN not in repr(IDENTITY)


def test_two_seals_differ() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    assert sealed(keys).sealed != sealed(keys).sealed


def _flip(part: str, index: int) -> str:
    data = bytearray(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    data[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("part", "index"), [(3, -1), (3, 0), (2, 0)], ids=["tag", "ciphertext", "nonce"]
)
def test_tampering_is_detected(part: int, index: int) -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    entry = sealed(keys)
    parts = entry.sealed.split(".")
    parts[part] = _flip(parts[part], index)
    tampered = VaultEntry(entry.room, entry.verification_id, ".".join(parts), entry.delete_after)
    with pytest.raises(VaultError, match="tampered"):
        open_identity(keys, tampered, now=1_000)


def test_non_canonical_base64_is_refused() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    entry = sealed(keys)
    with pytest.raises(VaultError):
        keys.open(entry.sealed + "=", room="room-a", verification_id="v1")


@pytest.mark.parametrize(
    ("room", "vid"), [("room-b", "v1"), ("room-a", "v2")], ids=["other-room", "other-verification"]
)
def test_a_ciphertext_copied_to_another_row_does_not_open(room: str, vid: str) -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    entry = sealed(keys)
    copied = VaultEntry(room, vid, entry.sealed, entry.delete_after)
    with pytest.raises(VaultError, match="not this row's"):
        open_identity(keys, copied, now=1_000)


def test_relabelling_the_key_id_does_not_open() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A},k2:{KEY_A}")  # same key bytes under two ids
    entry = sealed(keys)
    relabelled = VaultEntry(
        entry.room,
        entry.verification_id,
        entry.sealed.replace(".k1.", ".k2.", 1),
        entry.delete_after,
    )
    with pytest.raises(VaultError):
        open_identity(keys, relabelled, now=1_000)


def test_a_wrong_key_does_not_open() -> None:
    entry = sealed(KeyRing.from_config(f"k1:{KEY_A}"))
    with pytest.raises(VaultError):
        open_identity(KeyRing.from_config(f"k1:{KEY_B}"), entry, now=1_000)
    with pytest.raises(VaultError, match="unknown key 'k1'"):
        open_identity(KeyRing.from_config(f"k9:{KEY_B}"), entry, now=1_000)


def test_past_retention_does_not_open() -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    with pytest.raises(VaultError, match="retention"):
        open_identity(keys, sealed(keys, delete_after=5_000), now=5_000)


def test_rotation_new_writes_use_the_new_key_old_entries_open() -> None:
    old_keys = KeyRing.from_config(f"k1:{KEY_A}")
    old_entry = sealed(old_keys)
    rotated = KeyRing.from_config(f"k2:{KEY_B},k1:{KEY_A}")
    assert rotated.active == "k2"
    assert sealed(rotated).kid == "k2"
    assert open_identity(rotated, old_entry, now=1_000) == IDENTITY


def test_reseal_moves_an_entry_to_the_active_key() -> None:
    old_entry = sealed(KeyRing.from_config(f"k1:{KEY_A}"))
    rotated = KeyRing.from_config(f"k2:{KEY_B},k1:{KEY_A}")
    moved = reseal(rotated, old_entry)
    assert moved.kid == "k2" and moved.delete_after == old_entry.delete_after
    assert reseal(rotated, moved) is moved
    only_new = KeyRing.from_config(f"k2:{KEY_B}")
    assert open_identity(only_new, moved, now=1_000) == IDENTITY


async def test_reseal_all_and_the_store() -> None:
    old = KeyRing.from_config(f"k1:{KEY_A}")
    store = MemoryVault()
    for i in range(5):
        await store.put(
            sealed(old, room="room-a" if i < 3 else "room-b", vid=f"v{i}", delete_after=1_000 + i)
        )
    rotated = KeyRing.from_config(f"k2:{KEY_B},k1:{KEY_A}")
    assert await reseal_all(store, rotated, batch=2) == 5
    assert await store.sealed_with_other_keys("k2", 10) == []
    entry = await store.get("room-a", "v0")
    assert entry is not None and entry.kid == "k2"
    assert len(await store.list_for_room("room-a")) == 3
    assert await store.delete_expired(now=1_002) == 3  # room-a: delete_after 1000, 1001, 1002
    assert await store.list_for_room("room-a") == []
    assert await store.delete_for_room("room-b") == 2
    assert len(store) == 0 and await store.delete_for_room("room-b") == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("", "no vault keys"),
        ("k1", "kid:base64key"),
        ("k 1:" + KEY_A, "kid:base64key"),
        ("k1:not*base64", "not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        (f"k1:{KEY_A},k1:{KEY_B}", "appears twice"),
    ],
    ids=["empty", "no-key", "bad-kid", "bad-base64", "short-key", "duplicate-kid"],
)
def test_bad_key_config_is_refused(config: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        KeyRing.from_config(config)
    assert KEY_A not in str(caught.value) and KEY_B not in str(caught.value)


def test_key_config_accepts_urlsafe_unpadded_keys_and_the_generator() -> None:
    urlsafe = base64.urlsafe_b64encode(bytes([251] * 32)).decode().rstrip("=")
    assert KeyRing.from_config(f" k1 : {urlsafe} ").kids == ["k1"]
    generated = ",".join([new_key_config_entry("k3"), new_key_config_entry("k2")])
    ring = KeyRing.from_config(generated)
    assert ring.active == "k3" and ring.kids == ["k3", "k2"]


@pytest.mark.parametrize(
    "text", ["", "v2.k1.AAAA.AAAA", "v1.k1.AAAA", "v1.k1.!!!!.AAAA", "v1.k1.AAAA.AAAA"]
)
def test_malformed_sealed_values_are_vault_errors(text: str) -> None:
    keys = KeyRing.from_config(f"k1:{KEY_A}")
    with pytest.raises(VaultError):
        keys.open(text, room="room-a", verification_id="v1")
