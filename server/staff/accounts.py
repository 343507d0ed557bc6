"""Staff accounts: argon2id passwords, sealed TOTP secrets, lockout, and the
password + TOTP :class:`Authenticator`.

Accounts belong to one tenant; a login name is unique within it. Every sign-in step that
fails (wrong password, wrong or replayed code) counts against the account; after
:data:`MAX_FAILURES` in a row the account is locked for a backoff that doubles with each
further failure, up to :data:`LOCK_MAX`. The lock is temporary on purpose: a permanent one
would let anyone lock a colleague out by typing their login (ASVS 2.4, "no lockout abuse").
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final, Protocol

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.errors import VaultError
from identity.vault import KeyRing, sealed_kid
from server.core.logs import Event, event
from server.db.audit import audit
from server.db.engine import writer
from server.db.schema import staff_accounts, tenants
from server.staff.model import AccountRef, Role

log = logging.getLogger("balie.staff")

#: argon2id, t=3 passes over m=64 MiB with p=4 lanes: RFC 9106's second recommended option
#: (the first needs 2 GiB per hash). About 0.2 s per hash on one core of a small server.
PASSWORD_HASHER: Final = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
#: failed steps in a row before the account is locked
MAX_FAILURES: Final = 5
LOCK_BASE: Final = timedelta(minutes=1)
LOCK_MAX: Final = timedelta(minutes=15)
#: codes from one 30 s step before or after the server's are accepted (clock drift)
TOTP_WINDOW: Final = 1
#: the associated-data namespace of sealed TOTP secrets in the vault key ring
_TOTP_AAD: Final = "staff-totp"
#: hashed once so an unknown login costs as much as a known one (no timing oracle)
_DUMMY_HASH: Final = PASSWORD_HASHER.hash("balie-no-such-account")

t = staff_accounts.c


@dataclass(frozen=True, slots=True)
class Account:
    tenant_id: str
    id: str
    login: str
    display_name: str
    staff_id: str | None
    roles: tuple[str, ...]
    password_hash: str | None
    totp_sealed: str | None
    totp_last_step: int | None
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None

    def __repr__(self) -> str:  # never the hash or the sealed secret
        return f"Account(tenant_id={self.tenant_id!r}, id={self.id!r})"

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def normalise_login(login: str) -> str:
    return login.strip().lower()


def new_totp_secret() -> str:
    """160 random bits in base32, what authenticator apps expect (RFC 4226 §4)."""
    return pyotp.random_base32(32)


def seal_totp(keys: KeyRing, tenant_id: str, account_id: str, secret: str) -> str:
    # the associated data binds the ciphertext to this account: copied to another row it
    # does not open
    return keys.seal(secret.encode(), room=_TOTP_AAD, verification_id=f"{tenant_id}/{account_id}")


def _unseal_totp(keys: KeyRing, tenant_id: str, account_id: str, sealed: str) -> str:
    """What :func:`seal_totp` sealed; raises :class:`VaultError` if no key opens it."""
    opened = keys.open(sealed, room=_TOTP_AAD, verification_id=f"{tenant_id}/{account_id}")
    return opened.decode()


def open_totp(keys: KeyRing, account: Account) -> str | None:
    if account.totp_sealed is None:
        return None
    try:
        return _unseal_totp(keys, account.tenant_id, account.id, account.totp_sealed)
    except VaultError:
        # a key dropped from the ring (or a restore with the wrong key): nobody can pass the
        # second step until the key is back, which the operator must hear of
        log.error(
            "a staff member's TOTP secret does not open with BALIE_VAULT_KEYS",
            extra=event(Event.IDENTITY_VAULT_UNREADABLE),
        )
        return None


def lock_period(failures: int) -> timedelta | None:
    """How long an account with ``failures`` failed steps in a row stays locked."""
    if failures < MAX_FAILURES:
        return None
    doubled: timedelta = LOCK_BASE * (2 ** min(failures - MAX_FAILURES, 16))
    return min(doubled, LOCK_MAX)


def _account(row: Row[Any]) -> Account:
    return Account(
        tenant_id=str(row.tenant_id),
        id=str(row.id),
        login=str(row.login),
        display_name=str(row.display_name),
        staff_id=row.staff_id,
        roles=tuple(row.roles or ()),
        password_hash=row.password_hash,
        totp_sealed=row.totp_sealed,
        totp_last_step=row.totp_last_step,
        disabled=bool(row.disabled),
        failed_attempts=int(row.failed_attempts),
        locked_until=row.locked_until,
    )


async def audit_account(
    conn: AsyncConnection, tenant_id: str, account_id: str, action: str, now: datetime
) -> None:
    """An audit event about a staff account, by that account: never a credential."""
    actor, subject = f"staff:{account_id}", f"staff_account:{account_id}"
    await audit(conn, tenant_id, now, actor, action, subject)


async def insert_account(
    conn: AsyncConnection,
    *,
    tenant_id: str,
    account_id: str,
    login: str,
    display_name: str,
    roles: Sequence[Role],
    password_hash: str | None,
    sealed: str | None,
    staff_id: str | None,
    now: datetime,
) -> None:
    """Add an account inside the caller's transaction (``sealed``: see :func:`seal_totp`)."""
    await conn.execute(
        insert(staff_accounts).values(
            tenant_id=tenant_id,
            id=account_id,
            login=normalise_login(login),
            display_name=display_name,
            staff_id=staff_id,
            roles=[role.value for role in roles],
            password_hash=password_hash,
            totp_sealed=sealed,
            totp_last_step=None,
            disabled=False,
            failed_attempts=0,
            locked_until=None,
            created_at=now,
            updated_at=now,
        )
    )


class AccountStore:
    """Staff accounts in the application database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_login(self, tenant_id: str, login: str) -> Account | None:
        query = select(staff_accounts).where(
            t.tenant_id == tenant_id, t.login == normalise_login(login)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _account(row)

    async def get(self, tenant_id: str, account_id: str) -> Account | None:
        query = select(staff_accounts).where(t.tenant_id == tenant_id, t.id == account_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _account(row)

    async def tenants(self) -> list[tuple[str, str]]:
        """(id, name) of every tenant, for the sign-in form's choice."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(tenants.c.id, tenants.c.name).order_by(tenants.c.name))
            return [(str(r.id), str(r.name)) for r in rows]

    async def create(
        self,
        *,
        tenant_id: str,
        login: str,
        display_name: str,
        roles: Sequence[Role],
        password_hash: str | None,
        keys: KeyRing,
        totp_secret: str | None,
        now: datetime,
        staff_id: str | None = None,
        account_id: str | None = None,
    ) -> str:
        """Add an account; returns its id. Every account that has a password needs a TOTP
        secret too: the second factor is not optional (BIO2 5.17.01)."""
        if password_hash is not None and totp_secret is None:
            raise ValueError("an account with a password needs a TOTP secret")
        account_id = account_id or str(uuid.uuid4())
        async with writer(self._engine).begin() as conn:
            await insert_account(
                conn,
                tenant_id=tenant_id,
                account_id=account_id,
                login=login,
                display_name=display_name,
                roles=roles,
                password_hash=password_hash,
                sealed=seal_totp(keys, tenant_id, account_id, totp_secret) if totp_secret else None,
                staff_id=staff_id,
                now=now,
            )
        return account_id

    async def set_credentials(
        self,
        ref: AccountRef,
        *,
        password_hash: str,
        keys: KeyRing,
        totp_secret: str,
        now: datetime,
    ) -> None:
        """Replace password and TOTP secret, and clear the lock (an admin reset)."""
        sealed = seal_totp(keys, ref.tenant_id, ref.account_id, totp_secret)
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                update(staff_accounts)
                .where(t.tenant_id == ref.tenant_id, t.id == ref.account_id)
                .values(
                    password_hash=password_hash,
                    totp_sealed=sealed,
                    totp_last_step=None,
                    failed_attempts=0,
                    locked_until=None,
                    updated_at=now,
                )
            )

    async def reseal_totp_secrets(self, keys: KeyRing, now: datetime) -> int:
        """Seal every TOTP secret under the ring's active key (``balie vault reseal``), so the
        old key can leave BALIE_VAULT_KEYS; returns how many moved. Each row is replaced only
        if it still holds what was read (a secret set meanwhile is already under the new key);
        a secret no key opens stays as it is (logged by :func:`open_totp` at sign-in)."""
        async with self._engine.connect() as conn:
            query = select(t.tenant_id, t.id, t.totp_sealed).where(t.totp_sealed.is_not(None))
            rows = (await conn.execute(query)).all()
        count = 0
        for row in rows:
            if sealed_kid(row.totp_sealed) == keys.active:
                continue
            try:
                secret = _unseal_totp(keys, row.tenant_id, row.id, row.totp_sealed)
            except VaultError:
                continue
            resealed = seal_totp(keys, row.tenant_id, row.id, secret)
            async with writer(self._engine).begin() as conn:
                moved = await conn.execute(
                    update(staff_accounts)
                    .where(
                        t.tenant_id == row.tenant_id,
                        t.id == row.id,
                        t.totp_sealed == row.totp_sealed,
                    )
                    .values(totp_sealed=resealed, updated_at=now)
                )
            count += moved.rowcount
        return count

    async def set_disabled(self, ref: AccountRef, disabled: bool, now: datetime) -> None:
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                update(staff_accounts)
                .where(t.tenant_id == ref.tenant_id, t.id == ref.account_id)
                .values(disabled=disabled, updated_at=now)
            )

    async def rehash(self, ref: AccountRef, password_hash: str, now: datetime) -> None:
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                update(staff_accounts)
                .where(t.tenant_id == ref.tenant_id, t.id == ref.account_id)
                .values(password_hash=password_hash, updated_at=now)
            )

    async def record_failure(self, ref: AccountRef, now: datetime) -> int:
        """Count a failed step; lock the account once there are enough. Returns the count."""
        async with writer(self._engine).begin() as conn:
            found = await conn.execute(
                select(t.failed_attempts).where(
                    t.tenant_id == ref.tenant_id, t.id == ref.account_id
                )
            )
            failures = int(found.scalar_one()) + 1
            period = lock_period(failures)
            await conn.execute(
                update(staff_accounts)
                .where(t.tenant_id == ref.tenant_id, t.id == ref.account_id)
                .values(
                    failed_attempts=failures,
                    locked_until=None if period is None else now + period,
                    updated_at=now,
                )
            )
            await audit_account(conn, ref.tenant_id, ref.account_id, "staff.sign_in_failed", now)
        return failures

    async def claim_totp_step(self, ref: AccountRef, step: int, now: datetime) -> bool:
        """Accept a code of time step ``step`` unless one of this or a later step was
        accepted before (the replay guard). Compare-and-swap: of two requests with the same
        code, exactly one wins. A success also resets the failure count."""
        older = (t.totp_last_step.is_(None)) | (t.totp_last_step < step)
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(
                update(staff_accounts)
                .where(t.tenant_id == ref.tenant_id, t.id == ref.account_id, older)
                .values(totp_last_step=step, failed_attempts=0, locked_until=None, updated_at=now)
            )
            claimed = result.rowcount == 1
            if claimed:
                await audit_account(conn, ref.tenant_id, ref.account_id, "staff.sign_in", now)
        return claimed


class Outcome(Enum):
    #: this step passed
    OK = "ok"
    #: wrong login, password or code; the person is told no more than that
    REFUSED = "refused"
    #: too many failures: wait for the lock to pass
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class StepResult:
    outcome: Outcome
    account: AccountRef | None = None


class Authenticator(Protocol):
    """Something that proves a person holds a staff account.

    The OpenID Connect seam: an authenticator ends in an :class:`AccountRef`, and the
    session layer (server/staff/auth.py ``start_session``) takes it from there. Sessions
    never depend on how the person authenticated; the ``method`` name is only recorded.
    An OIDC authenticator (the municipality's identity provider) would map the ID token's
    ``iss`` + ``sub`` to an account and call the same ``start_session``.
    """

    #: recorded on the session: ``password+totp``, later ``oidc``
    method: str


class PasswordTotpAuthenticator:
    """Login + password, then a TOTP code (RFC 6238): two steps, both required."""

    method = "password+totp"

    def __init__(
        self,
        store: AccountStore,
        keys: KeyRing,
        clock: Callable[[], datetime],
        hasher: PasswordHasher = PASSWORD_HASHER,
    ) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock
        self.hasher = hasher

    async def check_password(self, tenant_id: str, login: str, password: str) -> StepResult:
        """Step 1. OK means only "go on to the code"; the account is not signed in."""
        now = self.clock()
        account = await self.store.by_login(tenant_id, login) if login.strip() else None
        if account is None or account.password_hash is None or account.disabled:
            # as slow as a real check, so response times do not tell which logins exist
            await asyncio.to_thread(self._verify, _DUMMY_HASH, password)
            return StepResult(Outcome.REFUSED)
        ref = AccountRef(account.tenant_id, account.id)
        if account.locked(now):
            return StepResult(Outcome.LOCKED, ref)
        if not await asyncio.to_thread(self._verify, account.password_hash, password):
            failures = await self.store.record_failure(ref, now)
            return StepResult(Outcome.LOCKED if lock_period(failures) else Outcome.REFUSED, ref)
        if self._needs_rehash(account.password_hash):
            # parameters went up since this hash was made: upgrade it while we have the
            # password (demo accounts start with cheap hashes)
            rehashed = await asyncio.to_thread(self.hasher.hash, password)
            await self.store.rehash(ref, rehashed, now)
        return StepResult(Outcome.OK, ref)

    async def check_code(self, ref: AccountRef, code: str) -> StepResult:
        """Step 2: the TOTP code of the account that passed step 1."""
        now = self.clock()
        account = await self.store.get(ref.tenant_id, ref.account_id)
        if account is None or account.disabled:
            return StepResult(Outcome.REFUSED)
        if account.locked(now):
            return StepResult(Outcome.LOCKED, ref)
        secret = open_totp(self.keys, account)
        if secret is None and account.totp_sealed is not None:
            return StepResult(Outcome.REFUSED, ref)  # our key, not their code: no failure counted
        step = _matching_step(secret, code, now) if secret else None
        if step is not None and await self.store.claim_totp_step(ref, step, now):
            return StepResult(Outcome.OK, ref)
        failures = await self.store.record_failure(ref, now)
        return StepResult(Outcome.LOCKED if lock_period(failures) else Outcome.REFUSED, ref)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the drift window; None if none."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # pyotp compares in constant time
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None
