"""Key files: the room-token keys, the vault key ring, and how any secret is written.

Every key file is written the same way (:func:`write_secret`): readable by its owner only,
and replaced atomically, so a crash never leaves half a key. In development a missing key
is made on first start; in production it must exist (each error names its variable), since
a key made by one node would not be the key of the others.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, Self, TypeVar

from identity.errors import ConfigurationError
from identity.vault import KeyRing, new_key_config_entry, parse_key_ring
from server.config import Config, ConfigError
from server.core.logs import Event, event
from signaling.tokens import KeySet

log = logging.getLogger("balie.keys")
K = TypeVar("K", bound="RotatingKeys")


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: mode 0600, created beside it and renamed over it. A file
    replaced keeps its owner where we may set it (root rotating a key file that the service
    user reads), so that no node ever meets a key file it cannot read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
        handle.flush()
        if os.getuid() == 0 and path.exists():
            owner = path.stat()
            os.fchown(handle.fileno(), owner.st_uid, owner.st_gid)
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class FileFollower:
    """Re-reads a key file when it has changed since the last look, so that a rotation on
    the shared file reaches every running node without a restart: installed as a key set's
    ``follow``, it is asked before each signature and for each unknown key id. One ``stat``
    when nothing changed; a file that no longer parses is logged and the keys held stay."""

    def __init__(self, path: Path, adopt: Callable[[str], list[str]]) -> None:
        self._path = path
        self._adopt = adopt
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        # ctime as well: a file made readable later (chown, chmod) is looked at again
        return stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size

    def __call__(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return  # unchanged, or gone for a moment (replaced): keep what we hold
        self._seen = stamp
        try:
            kids = self._adopt(self._path.read_text())
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning(
                "key file %s changed but cannot be read (%s); the keys held stay in use",
                self._path,
                type(error).__name__,
                extra=event(Event.KEYS_RELOAD_FAILED),
            )
            return
        log.info(
            "key file %s reloaded; keys: %s",
            self._path,
            ", ".join(kids),
            extra=event(Event.KEYS_RELOADED),
        )


class RotatingKeys(Protocol):
    """A key set kept in a file: room-token keys (:class:`KeySet`) and manage-link keys."""

    active: str
    follow: Callable[[], None] | None

    @property
    def kids(self) -> list[str]: ...

    def to_json(self) -> str: ...

    def rotated(self) -> Self: ...

    def adopt(self, other: Self) -> None: ...


def key_file(
    path: Path,
    variable: str,
    parse: Callable[[str], K],
    generate: Callable[[], K],
    *,
    production: bool,
) -> K:
    """The key set in ``path``, following the file; in development one is made on first start
    (in production every node must use the same keys, so none is invented)."""
    if path.exists():
        try:
            keys = parse(path.read_text())
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{variable} {path}: {type(error).__name__}: {error}") from None
    elif production:
        raise ConfigError(f"{variable} {path} does not exist; create it with 'balie keys rotate'")
    else:
        keys = generate()
        write_secret(path, keys.to_json())

    def adopt(text: str) -> list[str]:
        keys.adopt(parse(text))
        return keys.kids

    keys.follow = FileFollower(path, adopt)
    return keys


def rotate_key_file(path: Path, parse: Callable[[str], K], generate: Callable[[], K]) -> K:
    """Add a new key to the file and make it the signer; older keys keep verifying until they
    are removed, and running nodes that share the file take it up by themselves."""
    keys = parse(path.read_text()).rotated() if path.exists() else generate()
    write_secret(path, keys.to_json())
    return keys


# --- room tokens -----------------------------------------------------------------------------


def load_keys(config: Config) -> KeySet:
    """The room-token key set."""
    return key_file(
        config.keys_file,
        "BALIE_ROOM_KEYS_FILE",
        KeySet.from_json,
        KeySet.generate,
        production=config.production,
    )


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
