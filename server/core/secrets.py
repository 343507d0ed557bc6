"""Key files: the room-token keys, the vault key ring, and how any secret is written.

Every key file is written the same way (:func:`write_secret`): readable by its owner only,
and replaced atomically, so a crash never leaves half a key. In development a missing key
is made on first start; in production it must exist (each error names its variable), since
a key made by one node would not be the key of the others.
"""

from __future__ import annotations

import os
from pathlib import Path

from identity.errors import ConfigurationError
from identity.vault import KeyRing, new_key_config_entry, parse_key_ring
from server.config import Config, ConfigError
from signaling.tokens import KeySet


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: mode 0600, created beside it and renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# --- room tokens -----------------------------------------------------------------------------


def load_keys(config: Config) -> KeySet:
    """The room-token key set; in development one is made on first start."""
    path = config.keys_file
    if path.exists():
        try:
            return KeySet.from_json(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"BALIE_ROOM_KEYS_FILE {path}: {exc}") from None
    if config.production:
        raise ConfigError(
            f"BALIE_ROOM_KEYS_FILE {path} does not exist; create it with 'balie keys rotate'"
        )
    keys = KeySet.generate()
    write_secret(path, keys.to_json())
    return keys


def rotate_keys(config: Config) -> KeySet:
    """Add a new signing key; older keys keep verifying until removed."""
    path = config.keys_file
    keys = KeySet.from_json(path.read_text()).rotated() if path.exists() else KeySet.generate()
    write_secret(path, keys.to_json())
    return keys


# --- the attribute vault (also seals staff TOTP secrets) -------------------------------------


def vault_keys(config: Config) -> KeyRing:
    """The configured key ring; in development a key file is made on first use."""
    text = config.identity.vault_keys
    if not text:
        path: Path = config.data_dir / "vault-keys.txt"
        if not path.exists():
            write_secret(path, new_key_config_entry("dev1"))
        text = path.read_text().strip()
    try:
        return KeyRing.from_config(text)
    except (ValueError, ConfigurationError) as error:
        raise ConfigError(f"BALIE_VAULT_KEYS: {error}") from None


# --- the bus between nodes ---------------------------------------------------------------------


def bus_keys(config: Config) -> dict[str, bytes]:
    """The cluster's key ring for what crosses Redis (``BALIE_BUS_KEYS``, the first seals)."""
    try:
        return parse_key_ring(config.cluster.bus_keys, what="bus")
    except ConfigurationError as error:
        raise ConfigError(f"BALIE_BUS_KEYS: {error}") from None
