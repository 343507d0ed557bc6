"""Demo staff accounts for the embedded shape: a specialist, a planner and an admin of the
demo tenant, with random passwords and TOTP secrets.

The credentials are made on first use and kept in ``<data dir>/staff-demo-accounts.json``
(mode 0600) so they survive restarts; ``balie serve`` prints them in development
(:func:`print_demo_accounts`). Seeding is idempotent: a missing account is added, and an
account whose password no longer matches the file (the file was deleted) is reset to it.
Demo data is refused in production (server/config.py), so none of this runs there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import KeyRing
from server.config import Config
from server.db.demo import DEMO_TENANT
from server.staff.accounts import AccountStore, new_totp_secret
from server.staff.model import AccountRef, Role

log = logging.getLogger("balie.staff")

CREDENTIALS_FILE: Final = "staff-demo-accounts.json"
#: cheap parameters: these passwords are printed on the console anyway, and every fresh data
#: directory (every test server) seeds them. The first sign-in rehashes with the real ones.
DEMO_HASHER: Final = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account_id: str
    login: str
    display_name: str
    roles: tuple[Role, ...]
    staff_id: str | None


ACCOUNTS: Final = (
    DemoAccount("demo-specialist", "specialist", "Anna (demo)", (Role.SPECIALIST,), "demo-anna"),
    DemoAccount("demo-planner", "planner", "Pieter (demo, planner)", (Role.PLANNER,), None),
    DemoAccount("demo-admin", "beheerder", "Bea (demo, beheer)", (Role.ADMIN,), None),
)


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    login: str
    password: str
    totp_secret: str

    def __repr__(self) -> str:
        return f"DemoCredentials(login={self.login!r})"


def demo_credentials(config: Config) -> dict[str, DemoCredentials]:
    """The demo logins' credentials, made (and stored, 0600) on first use."""
    path: Path = config.data_dir / CREDENTIALS_FILE
    stored: dict[str, dict[str, str]] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            stored = {}  # damaged: make new ones; seeding resets the accounts to them
    changed = False
    for account in ACCOUNTS:
        entry = stored.get(account.login)
        if not isinstance(entry, dict) or not {"password", "totp_secret"} <= entry.keys():
            stored[account.login] = {
                "password": secrets.token_urlsafe(12),
                "totp_secret": new_totp_secret(),
            }
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(stored, indent=2) + "\n")
    return {
        login: DemoCredentials(login, entry["password"], entry["totp_secret"])
        for login, entry in stored.items()
    }


async def seed_staff_demo(
    engine: AsyncEngine, config: Config, keys: KeyRing, now: datetime
) -> None:
    """Add the demo staff accounts where missing (call after ``seed_demo``)."""
    credentials = demo_credentials(config)
    store = AccountStore(engine)
    for account in ACCOUNTS:
        creds = credentials[account.login]
        existing = await store.get(DEMO_TENANT, account.account_id)
        if existing is None:
            await store.create(
                tenant_id=DEMO_TENANT,
                account_id=account.account_id,
                login=account.login,
                display_name=account.display_name,
                roles=account.roles,
                password_hash=await asyncio.to_thread(DEMO_HASHER.hash, creds.password),
                keys=keys,
                totp_secret=creds.totp_secret,
                staff_id=account.staff_id,
                now=now,
            )
        elif not await asyncio.to_thread(_matches, existing.password_hash, creds.password):
            await store.set_credentials(
                AccountRef(DEMO_TENANT, account.account_id),
                password_hash=await asyncio.to_thread(DEMO_HASHER.hash, creds.password),
                keys=keys,
                totp_secret=creds.totp_secret,
                now=now,
            )


def _matches(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        return False
    try:
        return DEMO_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def print_demo_accounts(config: Config) -> None:
    """Print the demo staff logins (development with demo data only)."""
    if config.production or not config.database.demo_data:
        return
    credentials = demo_credentials(config)
    print(f"Medewerkers / staff: {config.public_url}/staff/sign-in")  # noqa: T201
    for account in ACCOUNTS:
        creds = credentials[account.login]
        uri = pyotp.TOTP(creds.totp_secret).provisioning_uri(
            # the label is the user name the sign-in form asks for, nothing else
            name=account.login,
            issuer_name="Balie (demo)",
        )
        roles = ", ".join(role.value for role in account.roles)
        print(  # noqa: T201
            f"  {account.login:<11} wachtwoord {creds.password}  ({roles})\n"
            f"              TOTP-sleutel {creds.totp_secret}  ({uri})"
        )
    print(  # noqa: T201
        "  Code nu / current code: .venv/bin/python -c "
        "\"import pyotp; print(pyotp.TOTP('<TOTP-sleutel>').now())\""
    )
