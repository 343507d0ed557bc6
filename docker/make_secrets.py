"""Write the secret files docker/compose.yaml reads into a directory, keeping any there.

Run inside Balie's image by ``docker/make-secrets`` (it needs Balie's own key generators).
A file that exists is never replaced, so running it again only adds what is missing; a value
that two files share (a password and the URL holding it) is taken from the file that exists.
Files only Balie reads belong to its user (uid 10001) with mode 0600; files another service
reads too are mode 0644, so keep the directory itself closed (mode 0700).

Not made here: ``tls.pem`` and ``turn.pem`` (the certificate chains and keys of the web and
TURN names) and ``irma-jwt.pem`` (the irma server's result-JWT public key); it says so.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from identity.vault import new_key_config_entry
from server.booking.links import LinkKeys
from signaling.tokens import KeySet

BALIE_UID: Final = 10001
#: the directory of the room and link key files, which the nodes mount at /run/balie-keys
KEYS: Final = "keys"
#: the commands Balie sends on its prefix (docs/deployment.md, "Several nodes")
REDIS_COMMANDS: Final = (
    "+get +set +del +exists +pexpire +publish +subscribe +unsubscribe +pubsub|numsub +eval "
    "+evalsha +script|load +script|exists +ping +time"
)
#: made elsewhere: (file, what it is)
BROUGHT: Final = (
    ("tls.pem", "certificate chain and key of the web name (BALIE_DOMAIN), one PEM file"),
    ("turn.pem", "certificate chain and key of the TURN name (TURN_DOMAIN), one PEM file"),
    ("irma-jwt.pem", "the irma server's result-JWT public key (docs/identity.md §5)"),
)


class Secrets:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.made: list[str] = []

    def read(self, name: str) -> str | None:
        path = self.directory / name
        return path.read_text().strip() if path.exists() else None

    def directory_for_balie(self, name: str) -> None:
        path = self.directory / name
        path.mkdir(mode=0o700, exist_ok=True)
        if os.getuid() == 0:
            os.chown(path, BALIE_UID, BALIE_UID)

    def put(self, name: str, text: str, *, balie_only: bool) -> None:
        path = self.directory / name
        if path.exists():
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if balie_only else 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
            if balie_only and os.getuid() == 0:
                os.fchown(handle.fileno(), BALIE_UID, BALIE_UID)
        self.made.append(name)


def password_of(url: str | None) -> str | None:
    return urlsplit(url).password if url else None


def acl_password(acl: str | None) -> str | None:
    """The password of the ``balie`` user in a Redis ACL file."""
    for line in (acl or "").splitlines():
        words = line.split()
        if words[:2] == ["user", "balie"]:
            return next((w[1:] for w in words if w.startswith(">")), None)
    return None


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def make(store: Secrets, database: str, redis: str) -> None:
    # Balie's keys (docs/deployment.md: the same files and values on every node); the room and
    # link key files in a directory of their own, which the nodes mount whole (compose.yaml)
    store.directory_for_balie(KEYS)
    store.put(f"{KEYS}/room-keys.json", KeySet.generate().to_json(), balie_only=True)
    store.put(f"{KEYS}/link-keys.json", LinkKeys.generate().to_json(), balie_only=True)
    store.put("BALIE_VAULT_KEYS", new_key_config_entry("k1"), balie_only=True)
    store.put("BALIE_BUS_KEYS", f"k1:{random_key()}", balie_only=True)
    store.put("BALIE_FEED_SECRET", random_key(), balie_only=True)
    # the requestor token the irma server is configured with too
    store.put("BALIE_IRMA_TOKEN", secrets.token_urlsafe(32), balie_only=True)
    # ``balie probe``'s bearer secret (43 characters; the nodes want 32 or more): a copy goes
    # to the host that probes (docs/operations.md, "Checking and probing a deployment")
    store.put("BALIE_PROBE_SECRET", secrets.token_urlsafe(32), balie_only=True)
    # coturn reads it as well
    store.put("BALIE_TURN_SECRET", secrets.token_urlsafe(32), balie_only=False)

    postgres = (
        store.read("postgres-password")
        or password_of(store.read("BALIE_DATABASE_URL"))
        or secrets.token_urlsafe(24)
    )
    store.put("postgres-password", postgres, balie_only=False)
    store.put(
        "BALIE_DATABASE_URL",
        f"postgresql+asyncpg://balie:{postgres}@{database}/balie",
        balie_only=True,
    )

    redis_password = (
        acl_password(store.read("redis-users.acl"))
        or password_of(store.read("BALIE_REDIS_URL"))
        or secrets.token_urlsafe(24)
    )
    store.put(
        "redis-users.acl",
        "user default on nopass -@all +ping\n"
        f"user balie on >{redis_password} ~balie:* &balie:* {REDIS_COMMANDS}\n",
        balie_only=False,
    )
    store.put("BALIE_REDIS_URL", f"redis://balie:{redis_password}@{redis}/0", balie_only=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--database", default="postgres:5432", help="PostgreSQL's host:port (postgres:5432)"
    )
    parser.add_argument("--redis", default="redis:6379", help="Redis's host:port (redis:6379)")
    args = parser.parse_args(argv)
    store = Secrets(args.directory)
    make(store, args.database, args.redis)
    out = sys.stdout
    out.write(f"made: {', '.join(store.made) or 'nothing (all there)'}\n")
    for name, what in BROUGHT:
        if not (args.directory / name).exists():
            out.write(f"still to put there: {name}: {what}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
