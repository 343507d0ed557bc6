"""The identity gate: a resident enters the lobby only after proving their purpose's policy.

The flow (docs/identity.md): the join page asks :meth:`IdentityGate.start` for a wallet
session bound to (room, browser, purpose); the wallet discloses to the verifier; the page
asks :meth:`IdentityGate.finish`, which fetches and strictly checks the result server to
server, consumes it once, seals the values into the vault and writes the audit trail.
The signalling server asks :meth:`IdentityGate.admits` before seating a resident.

Values leave the vault for one reader only: the specialist of that room
(:meth:`IdentityGate.panel`), with the BSN masked until a deliberate, audited
:meth:`IdentityGate.reveal`. Audit rows name attributes, never values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import (
    IdentityError,
    PolicyError,
    PresentationRefused,
    RefusalReason,
    VerificationRefused,
    VerifierUnavailable,
)
from identity.openid4vp import OpenID4VPVerifier
from identity.policy import (
    FIELD_LABELS_NL,
    TAG_FIELDS,
    DisclosurePolicy,
    Tag,
    field_label,
    policy_from_stored,
    tag_label,
)
from identity.sessions import Binding, VerificationRegistry
from identity.vault import KeyRing, VaultEntry, open_identity, seal_identity
from identity.verifier import VerifiedIdentity, Verifier
from server.core.language import N_
from server.core.logs import Event, event, room_ref
from server.db.audit import audit
from server.db.engine import writer
from server.db.schema import purposes, vault_entries
from server.verification.vault_store import SqlVault
from server.verification.wallets import (
    NOT_OFFERED,
    WALLET_LABELS,
    start_wallet,
    wallet_result,
    wallet_status,
    wallets_for,
)
from signaling.roles import Role
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.identity")

#: the only attribute shown masked until a specialist reveals it
MASKED: Final = frozenset({"bsn"})
#: a safety net: values sealed for a call that never ends are gone after this
MAX_CALL_SECONDS: Final = 12 * 3600
_DAY: Final = 86_400


class GateError(Exception):
    """A request the gate refuses; ``code`` is stable, ``detail`` readable Dutch; ``check``
    names the failed check of a refused wallet presentation (log-safe, no value)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        check: str | None = None,
        verifier: str | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.check = check
        #: the verifier that refused, when known
        self.verifier = verifier


@dataclass(frozen=True, slots=True)
class PurposePolicy:
    policy: DisclosurePolicy
    #: days the values are kept after call end; None: deleted at call end
    retention_days: int | None


@dataclass
class IdentityGate:
    verifier: Verifier
    verifications: VerificationRegistry
    vault: SqlVault
    keys: KeyRing
    engine: AsyncEngine
    #: the demo wallet page, offered to residents in demo mode only
    demo_wallet_url: str | None = None
    clock: Callable[[], float] = time.time
    #: the OpenID4VP verifier for EU and NL wallets, when configured (beside ``verifier``)
    openid4vp: OpenID4VPVerifier | None = None

    # -- the policy ----------------------------------------------------------------

    async def policy_for(self, claims: RoomClaims) -> PurposePolicy | None:
        """The purpose's policy, or None for a room without a purpose."""
        if claims.purpose is None or claims.tenant is None:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(purposes.c.disclosure, purposes.c.retention_days).where(
                        purposes.c.tenant_id == claims.tenant, purposes.c.key == claims.purpose
                    )
                )
            ).first()
        if row is None:
            raise GateError(404, "unknown-purpose", N_("Deze afspraak bestaat niet (meer)."))
        if row.disclosure in ([], None):
            return None  # the admin chose a purpose without an identity step
        try:
            policy = policy_from_stored(claims.purpose, row.disclosure)
        except PolicyError:
            # never admit on a policy we cannot read: that would weaken verification
            log.error(
                "purpose %s of tenant %s has an unreadable policy", claims.purpose, claims.tenant
            )
            raise GateError(503, "policy-unreadable", _TRY_LATER) from None
        return PurposePolicy(policy, row.retention_days)

    # -- resident ------------------------------------------------------------------

    async def state(
        self, claims: RoomClaims, browser: str | None, language: str = "nl"
    ) -> dict[str, object]:
        """What the page shows: whether this seat must verify, and whether it has; labels in
        ``language`` (``nl`` or ``en``)."""
        gated = await self.policy_for(claims)
        body: dict[str, object] = {"role": claims.role.value, "required": False, "verified": False}
        if claims.role is Role.SPECIALIST:
            return body | await self.panel(claims, gated, language)
        if gated is None or claims.role is not Role.RESIDENT:
            return body
        body |= {
            "required": True,
            "verified": await self._verified(claims, browser, gated),
            "attributes": [{"label": item.label(language)} for item in gated.policy.items],
            "wallets": wallets_for(gated.policy, self.verifier, self.openid4vp),
        }
        if self.demo_wallet_url:
            body["demo_wallet_url"] = self.demo_wallet_url
        return body

    async def start(
        self, claims: RoomClaims, browser: str | None, wallet: object = None, flow: object = None
    ) -> Mapping[str, object]:
        """Open a wallet session for this room, browser and purpose, with ``wallet``
        (``yivi`` when not given, or ``openid4vp`` in the ``flow`` given)."""
        gated = await self._resident_policy(claims)
        browser = _require_browser(browser)
        try:
            started = await start_wallet(
                gated.policy, wallet, flow, yivi=self.verifier, openid4vp=self.openid4vp
            )
        except VerifierUnavailable:
            raise GateError(503, "verifier-unavailable", _TRY_LATER) from None
        if started is None:
            raise GateError(400, "unknown-wallet", NOT_OFFERED)
        # the page never sees the verification's id: the store finds it by the binding, on
        # whichever node the page asks next
        await self.verifications.open(started.handle, self._binding(claims, browser))
        return started.browser_payload

    async def finish(
        self,
        claims: RoomClaims,
        browser: str | None,
        language: str = "nl",
        response_code: str | None = None,
    ) -> dict[str, object]:
        """Fetch, check and keep the result of this browser's wallet session; a same-device
        OpenID4VP session needs the ``response_code`` the wallet sent this browser back with."""
        await self._resident_policy(claims)
        browser = _require_browser(browser)
        binding = self._binding(claims, browser)
        verification_id = await self.verifications.pending(binding)
        if verification_id is None:
            raise GateError(
                409, "no-verification", N_("Start eerst het controleren met de Yivi-app.")
            )
        answered, verifier = await self._answered(verification_id, binding)
        if not answered:
            raise GateError(409, "not-finished", _NOT_FINISHED)
        try:
            verification = await self.verifications.claim(verification_id, binding)
        except VerificationRefused as refused:  # claimed meanwhile (another tab or node)
            await self._audit_refusal(claims, refused.reason)
            raise _refusal(refused.reason, verifier=verifier) from None
        except IdentityError:
            raise GateError(409, "no-verification", N_("Start het controleren opnieuw.")) from None
        try:
            identity = await wallet_result(
                verification.handle, response_code, yivi=self.verifier, openid4vp=self.openid4vp
            )
        except VerifierUnavailable:
            await self.verifications.release(verification_id)
            raise GateError(503, "verifier-unavailable", _TRY_LATER, verifier=verifier) from None
        except VerificationRefused as refused:
            await self.verifications.refuse(verification_id, refused.reason)
            check = refused.check if isinstance(refused, PresentationRefused) else None
            await self._audit_refusal(claims, refused.reason, check)
            raise _refusal(refused.reason, check, verifier) from None
        except IdentityError:  # not answered after all: the claim goes back
            await self.verifications.release(verification_id)
            raise GateError(409, "not-finished", _NOT_FINISHED) from None
        try:
            await self.verifications.complete(verification_id, identity)
        except VerificationRefused as refused:
            await self._audit_refusal(claims, refused.reason)
            raise _refusal(refused.reason, verifier=verifier) from None
        await self._keep(claims, browser, verification_id, identity)
        return {
            "verified": True,
            "wallet": identity.verifier,
            "attributes": [{"label": label} for label in _labels(identity, language)],
        }

    async def progress(self, claims: RoomClaims, browser: str | None) -> dict[str, object]:
        """How far this browser's wallet session is (``waiting``, ``connected``, ``done``,
        ``cancelled``, ``timeout``): the page polls it and finishes once it is final."""
        await self._resident_policy(claims)
        binding = self._binding(claims, _require_browser(browser))
        verification_id = await self.verifications.pending(binding)
        if verification_id is None:
            raise GateError(409, "no-verification", N_("Start het controleren opnieuw."))
        verification = await self.verifications.get(verification_id, binding)
        status = await wallet_status(
            verification.handle, yivi=self.verifier, openid4vp=self.openid4vp
        )
        return {"status": status.value}

    async def _answered(self, verification_id: str, binding: Binding) -> tuple[bool, str | None]:
        """Has the wallet of an OpenID4VP session answered? (Yivi's page asks its own
        server first; its result is fetched as soon as the page finishes.) And which
        verifier runs the session, so that a refusal is counted under it (None: not known)."""
        try:
            verification = await self.verifications.get(verification_id, binding)
        except IdentityError:
            return True, None  # the claim refuses it, with its reason
        verifier = verification.handle.verifier
        if verifier == self.verifier.name:
            return True, verifier
        status = await wallet_status(
            verification.handle, yivi=self.verifier, openid4vp=self.openid4vp
        )
        return status.final, verifier

    async def admits(self, claims: RoomClaims, browser: str | None) -> bool:
        """May this seat enter the lobby? Residents of a gated room need a live,
        bound verification; everyone else needs none."""
        if claims.role is not Role.RESIDENT:
            return True
        gated = await self.policy_for(claims)
        return gated is None or await self._verified(claims, browser, gated)

    async def _verified(
        self, claims: RoomClaims, browser: str | None, gated: PurposePolicy
    ) -> bool:
        """Does this browser hold a live verification for the room under ``gated``?"""
        if browser is None:
            return False
        entry = await self.vault.verified_entry(
            claims.room, browser_id=browser, purpose=gated.policy.purpose, now=self.clock()
        )
        return entry is not None

    # -- specialist ----------------------------------------------------------------

    async def panel(
        self, claims: RoomClaims, gated: PurposePolicy | None = None, language: str = "nl"
    ) -> dict[str, object]:
        """The verified panel: values with the BSN masked, labels in ``language``; the view
        is audited."""
        self._require_specialist(claims)
        gated = gated if gated is not None else await self.policy_for(claims)
        if gated is None:
            return {"required": False, "verified": False, "attributes": []}
        identity = await self._open(claims, gated)
        if identity is None:
            return {"required": True, "verified": False, "attributes": []}
        shown = _ordered(identity)
        rows = [
            {
                "name": name,
                "label": _field_label(name, language),
                "masked": name in MASKED,
                **({} if name in MASKED else {"value": value}),
            }
            for name, value in shown
        ]
        await self._audit(
            claims, "identity.viewed", [name for name, _ in shown if name not in MASKED]
        )
        return {
            "required": True,
            "verified": True,
            "verifier": WALLET_LABELS.get(identity.verifier, identity.verifier),
            "verified_at": datetime.fromtimestamp(identity.verified_at, UTC).isoformat(),
            "demo": identity.demo,
            "attributes": rows,
        }

    async def reveal(self, claims: RoomClaims, name: object) -> str:
        """One masked value, on the specialist's deliberate request; audited."""
        self._require_specialist(claims)
        if not isinstance(name, str) or name not in MASKED:
            raise GateError(400, "not-revealable", N_("Alleen het BSN kan hier getoond worden."))
        gated = await self.policy_for(claims)
        identity = await self._open(claims, gated) if gated is not None else None
        if identity is None or name not in identity.values:
            raise GateError(404, "not-verified", N_("Er zijn (nog) geen gecontroleerde gegevens."))
        await self._audit(claims, "identity.revealed", [name])
        log.info("%s revealed to the specialist", name, extra=event(Event.IDENTITY_BSN_REVEALED))
        return identity.values[name]

    async def renew(self, claims: RoomClaims) -> None:
        """The specialist asks the resident to verify again: the old values go at once."""
        self._require_specialist(claims)
        deleted = await self.vault.delete_for_room(claims.room)
        await self._audit(claims, "identity.renewal_requested", [])
        log.info("renewal requested; %d vault entries deleted", deleted)

    # -- lifecycle -----------------------------------------------------------------

    async def call_ended(self, room: str) -> None:
        """Delete the room's values now, or keep them for their purpose's retention."""
        retention = await self._retention_days(room)
        if retention:
            await self.vault.keep_until(room, self.clock() + retention * _DAY)
        else:
            await self.vault.delete_for_room(room)
        await self.verifications.forget_room(room)

    async def _retention_days(self, room: str) -> int | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(purposes.c.retention_days)
                    .join(
                        vault_entries,
                        (vault_entries.c.tenant_id == purposes.c.tenant_id)
                        & (vault_entries.c.purpose_key == purposes.c.key),
                    )
                    .where(vault_entries.c.room_id == room)
                )
            ).first()
        return None if row is None else row.retention_days

    async def sweep(self) -> int:
        """Delete what is past its retention, and verifications nobody finished."""
        await self.verifications.purge()
        return await self.vault.delete_expired(self.clock())

    # -- inside --------------------------------------------------------------------

    async def _resident_policy(self, claims: RoomClaims) -> PurposePolicy:
        if claims.role is not Role.RESIDENT:
            raise GateError(
                403, "not-resident", N_("Alleen de inwoner laat zien wie hij of zij is.")
            )
        gated = await self.policy_for(claims)
        if gated is None:
            raise GateError(
                409, "not-required", N_("Voor dit gesprek hoeft u niets te laten zien.")
            )
        return gated

    def _require_specialist(self, claims: RoomClaims) -> None:
        if claims.role is not Role.SPECIALIST:
            raise GateError(403, "not-specialist", N_("Alleen de medewerker ziet deze gegevens."))

    def _binding(self, claims: RoomClaims, browser: str) -> Binding:
        assert claims.purpose is not None  # gated rooms have a purpose
        return Binding(claims.room, browser, claims.purpose)

    async def _keep(
        self, claims: RoomClaims, browser: str, verification_id: str, identity: VerifiedIdentity
    ) -> None:
        now = self.clock()
        entry = seal_identity(
            self.keys,
            identity,
            room=claims.room,
            verification_id=verification_id,
            delete_after=now + MAX_CALL_SECONDS,
        )
        assert claims.tenant is not None and claims.purpose is not None
        await self.vault.put_bound(
            entry, tenant=claims.tenant, browser_id=browser, purpose=claims.purpose, now=now
        )
        await self._audit(claims, "identity.verified", sorted(identity.values))

    async def _open(self, claims: RoomClaims, gated: PurposePolicy) -> VerifiedIdentity | None:
        now = self.clock()
        entry: VaultEntry | None = await self.vault.verified_entry(
            claims.room, purpose=gated.policy.purpose, now=now
        )
        if entry is None:
            return None
        try:
            return open_identity(self.keys, entry, now=now)
        except IdentityError:
            # a key removed too early, or a tampered row: nothing to show, loudly
            log.error(
                "a vault entry of room %s does not open",
                room_ref(claims.room),
                extra=event(Event.IDENTITY_VAULT_UNREADABLE),
            )
            return None

    async def _audit_refusal(
        self, claims: RoomClaims, reason: RefusalReason, check: str | None = None
    ) -> None:
        log.warning(
            "proof refused: %s%s",
            reason.code,
            f" (check {check})" if check else "",
            extra=event(Event.IDENTITY_PROOF_REFUSED),
        )
        await self._audit(claims, f"identity.refused.{reason.code}", [])

    async def _audit(self, claims: RoomClaims, action: str, attributes: list[str]) -> None:
        if claims.tenant is None:
            return  # rooms without a tenant have no purpose, so nothing to audit
        async with writer(self.engine).begin() as conn:
            await audit(
                conn,
                claims.tenant,
                datetime.fromtimestamp(self.clock(), UTC),
                f"{claims.role.value}:{claims.participant_id}",
                action,
                f"room:{claims.room}",
                attributes,
            )


_NOT_FINISHED: Final = N_("Rond eerst het delen af in uw app.")
_TRY_LATER: Final = N_("Het controleren lukt nu niet. Probeer het over een paar minuten opnieuw.")


def _require_browser(browser: str | None) -> str:
    if browser is None:
        raise GateError(
            400, "no-browser-session", N_("Laad de pagina opnieuw met de link uit uw uitnodiging.")
        )
    return browser


def _refusal(
    reason: RefusalReason, check: str | None = None, verifier: str | None = None
) -> GateError:
    return GateError(
        403, f"refused-{reason.code}", reason.resident_message, check=check, verifier=verifier
    )


def _field_label(name: str, language: str) -> str:
    if name in FIELD_LABELS_NL:
        return field_label(name, language)
    try:
        return tag_label(Tag(name), language)
    except ValueError:
        return name


def _ordered(identity: VerifiedIdentity) -> list[tuple[str, str]]:
    """Values in the tags' display order (BSN, name, ..., address parts)."""
    order = [name for tag in Tag for name in TAG_FIELDS[tag]]
    known = [(n, identity.values[n]) for n in order if n in identity.values]
    rest = sorted((n, v) for n, v in identity.values.items() if n not in order)
    return known + rest


def _labels(identity: VerifiedIdentity, language: str) -> list[str]:
    return [tag_label(tag, language) for tag in Tag if tag in identity.tags]
