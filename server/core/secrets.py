"""The room-token key set on disk."""

from __future__ import annotations

import os
from pathlib import Path

from server.config import Config, ConfigError
from signaling.tokens import KeySet


def load_keys(config: Config) -> KeySet:
    """Read the key set; in development, create one on first start."""
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
    save_keys(path, keys)
    return keys


def rotate_keys(config: Config) -> KeySet:
    """Add a new signing key; older keys keep verifying until removed."""
    path = config.keys_file
    keys = KeySet.from_json(path.read_text()).rotated() if path.exists() else KeySet.generate()
    save_keys(path, keys)
    return keys


def save_keys(path: Path, keys: KeySet) -> None:
    """Write the key set readable by its owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(keys.to_json())
    os.replace(tmp, path)
