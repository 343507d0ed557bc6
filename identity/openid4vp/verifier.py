"""The OpenID4VP verifier: the :class:`~identity.verifier.Verifier` for identity wallets.

Browser side (through :mod:`identity.sessions`, like Yivi): :meth:`start`,
:meth:`status`, :meth:`result`, :meth:`cancel`. Wallet side (the server's two
public endpoints): :meth:`request_object` for ``GET``/``POST request_uri``, and
:meth:`accept_response` for ``POST response_uri``. The response is checked when
it arrives, so the wallet hears at once and the browser's next poll is DONE.

Secrets at rest are sealed with the vault's :class:`~identity.vault.KeyRing`
(the response key and the verified identity), each bound to its transaction.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from joserfc.jwk import ECKey

from identity.errors import (
    IdentityError,
    PolicyError,
    PresentationRefused,
    RefusalReason,
    TransactionStateError,
    UnknownTransaction,
    VerificationRefused,
    VerifierUnavailable,
    WalletResponseError,
)
from identity.openid4vp import mdoc, sd_jwt
from identity.openid4vp.config import Flow, ResponseMode, VerifierSettings, fill
from identity.openid4vp.credential import CredentialFormat, Expectation, VerifiedCredential
from identity.openid4vp.dcql import answer, asked_types, build_query, presented
from identity.openid4vp.encoding import same_secret, sha256_b64url
from identity.openid4vp.pid import accepted_types, variant_by_query_id
from identity.openid4vp.request_object import authorization_url, request_object
from identity.openid4vp.response import (
    jwk_thumbprint,
    new_response_key,
    public_jwk,
    read_response,
    vp_token_object,
)
from identity.openid4vp.status_list import StatusListChecker
from identity.openid4vp.transactions import Action, Transaction, TransactionState, TransactionStore
from identity.policy import DisclosurePolicy
from identity.vault import KeyRing
from identity.verifier import (
    StartedVerification,
    VerificationStatus,
    VerifiedIdentity,
    VerifierHandle,
    identity_from_data,
    identity_to_data,
)

VERIFIER_NAME: Final = "openid4vp"
#: 24 random bytes (192 bits) for every id, nonce and code
RANDOM_BYTES: Final = 24
_WALLET_NONCE: Final = re.compile(r"[\x21-\x7e]{1,256}")
#: associated data of what we seal, so one sealed value cannot stand in for another
_SEALED_KEY: Final = "openid4vp-response-key"
_SEALED_IDENTITY: Final = "openid4vp-identity"
_STATUSES: Final[Mapping[TransactionState, VerificationStatus]] = {
    TransactionState.CREATED: VerificationStatus.WAITING,
    TransactionState.REQUEST_SENT: VerificationStatus.CONNECTED,
    TransactionState.RECEIVING: VerificationStatus.CONNECTED,
    TransactionState.VERIFIED: VerificationStatus.DONE,
    TransactionState.REFUSED: VerificationStatus.DONE,
    TransactionState.COLLECTED: VerificationStatus.DONE,
    TransactionState.DECLINED: VerificationStatus.CANCELLED,
    TransactionState.CANCELLED: VerificationStatus.CANCELLED,
    TransactionState.EXPIRED: VerificationStatus.TIMEOUT,
}


@dataclass(frozen=True, slots=True)
class WalletReply:
    """The answer to the wallet's POST: HTTP 200, ``application/json``,
    ``Cache-Control: no-store``, with ``body`` as JSON (never a redirect status)."""

    #: ``{}`` (cross-device) or ``{"redirect_uri": ...}`` (same-device)
    body: Mapping[str, str]
    #: whether the presentation passed; for logs and metrics, the wallet is not told
    verified: bool


class OpenID4VPVerifier:
    """OpenID4VP 1.0 with DCQL, signed request objects by reference (``x509_hash``),
    ``direct_post`` / ``direct_post.jwt``, SD-JWT VC and mdoc.

    :param settings: certificate, trust anchors, URLs and rules
    :param store: where transactions live (memory, or SQL in the scale-out shape)
    :param keys: the vault's key ring; seals the secrets a transaction holds
    :param status: checks status lists (owns the fetcher and its cache)
    :param clock: unix seconds, injectable for tests
    """

    def __init__(
        self,
        settings: VerifierSettings,
        store: TransactionStore,
        keys: KeyRing,
        status: StatusListChecker,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._keys = keys
        self._status = status
        self._clock = clock

    @property
    def name(self) -> str:
        return VERIFIER_NAME

    # -- the browser side (identity.verifier.Verifier)

    def can_answer(self, policy: DisclosurePolicy) -> bool:
        """Whether a credential we have trust anchors for can answer ``policy`` (so the
        page may offer this wallet for it)."""
        try:
            build_query(policy, self._settings.trust.types)
        except PolicyError:
            return False
        return True

    async def start(
        self, policy: DisclosurePolicy, *, flow: Flow = Flow.CROSS_DEVICE
    ) -> StartedVerification:
        """A new transaction asking ``policy``; :class:`PolicyError` if no configured
        credential can answer it. ``browser_payload`` holds the QR/link content."""
        s = self._settings
        dcql = build_query(policy, s.trust.types)
        now = self._clock()
        transaction_id = secrets.token_urlsafe(RANDOM_BYTES)
        request_id = secrets.token_urlsafe(RANDOM_BYTES)
        sealed_key = None
        if s.response_mode is ResponseMode.DIRECT_POST_JWT:
            key = new_response_key(secrets.token_urlsafe(12))
            sealed_key = self._keys.seal(
                json.dumps(key.as_dict(private=True)).encode(),
                room=_SEALED_KEY,
                verification_id=transaction_id,
            )
        transaction = Transaction(
            transaction_id=transaction_id,
            request_id=request_id,
            nonce=secrets.token_urlsafe(RANDOM_BYTES),
            client_id=s.client.client_id,
            flow=flow,
            response_mode=s.response_mode,
            policy=policy,
            dcql_query=dcql,
            sealed_response_key=sealed_key,
            state=TransactionState.CREATED,
            created_at=now,
            expires_at=now + s.ttl,
        )
        await self._store.insert(transaction)
        payload = {
            "authorization_request": authorization_url(s, request_id),
            "flow": flow.value,
            "expires_at": int(transaction.expires_at),
        }
        return StartedVerification(VerifierHandle(VERIFIER_NAME, transaction_id, policy), payload)

    async def status(self, handle: VerifierHandle) -> VerificationStatus:
        try:
            transaction = await self._store.by_transaction_id(self._reference(handle))
        except UnknownTransaction:
            return VerificationStatus.TIMEOUT  # purged: as good as timed out
        return _STATUSES[transaction.current_state(self._clock())]

    async def result(
        self, handle: VerifierHandle, *, response_code: str | None = None
    ) -> VerifiedIdentity:
        """The verified identity, once. A same-device transaction needs the
        ``response_code`` the wallet sent the browser back with (session fixation)."""
        now = self._clock()
        transaction = await self._store.by_transaction_id(self._reference(handle))
        state = transaction.current_state(now)
        if state is TransactionState.REFUSED:
            raise PresentationRefused(
                transaction.reason or RefusalReason.PRESENTATION_INVALID,
                transaction.check or "unknown",
            )
        if state in (TransactionState.DECLINED, TransactionState.CANCELLED):
            raise VerificationRefused(RefusalReason.CANCELLED, f"the transaction is {state}")
        if state is TransactionState.EXPIRED:
            raise VerificationRefused(RefusalReason.TIMEOUT, "the wallet did not answer in time")
        if state is TransactionState.COLLECTED:
            raise VerificationRefused(RefusalReason.ALREADY_USED, "the result was collected")
        if state is not TransactionState.VERIFIED:
            raise TransactionStateError("collecting the result", state.value)
        if transaction.flow is Flow.SAME_DEVICE and not (
            response_code is not None
            and transaction.response_code_hash is not None
            and same_secret(sha256_b64url(_ascii(response_code)), transaction.response_code_hash)
        ):
            raise VerificationRefused(
                RefusalReason.SESSION_MISMATCH, "the response code is not this transaction's"
            )
        sealed = transaction.sealed_identity
        collected = transaction.after(Action.COLLECT, now, sealed_identity=None)
        await self._store.swap(transaction, collected)
        if sealed is None:
            raise IdentityError("a verified transaction holds no identity")
        plaintext = self._keys.open(
            sealed, room=_SEALED_IDENTITY, verification_id=transaction.transaction_id
        )
        return identity_from_data(json.loads(plaintext))

    async def cancel(self, handle: VerifierHandle) -> None:
        """Stop a transaction the wallet has not answered; otherwise nothing to do."""
        try:
            transaction = await self._store.by_transaction_id(self._reference(handle))
            await self._store.swap(transaction, transaction.after(Action.CANCEL, self._clock()))
        except (UnknownTransaction, TransactionStateError):
            pass  # gone, answered or expired: nothing left to cancel

    async def purge(self) -> int:
        """Forget expired transactions; run it periodically."""
        return await self._store.purge(self._clock())

    # -- the wallet side

    async def request_object(self, request_id: str, *, wallet_nonce: str | None = None) -> str:
        """The signed request object (``application/oauth-authz-req+jwt``), served once.

        Raises :class:`UnknownTransaction` (404), :class:`TransactionStateError` (a second
        fetch, or expired) or :class:`WalletResponseError` (an unusable ``wallet_nonce``).
        """
        if wallet_nonce is not None and not _WALLET_NONCE.fullmatch(wallet_nonce):
            raise WalletResponseError("request.wallet-nonce", "not a short printable value")
        now = self._clock()
        transaction = await self._store.by_request_id(request_id)
        retrieved = transaction.after(Action.RETRIEVE, now)
        await self._store.swap(transaction, retrieved)
        key = self._response_key(retrieved)
        return request_object(
            self._settings,
            retrieved,
            response_jwk=public_jwk(key) if key is not None else None,
            wallet_nonce=wallet_nonce,
            now=now,
        )

    async def accept_response(self, request_id: str, form: Mapping[str, str]) -> WalletReply:
        """Take the wallet's response (form fields, URL-decoded) once, check it, record
        the outcome and say what to answer.

        A response that passes the envelope (decrypts with our key, carries our
        ``state``) is final: a refused presentation is recorded and answered like a
        good one (the page explains). Raises :class:`UnknownTransaction`,
        :class:`TransactionStateError` (answered already, or expired) or
        :class:`WalletResponseError` (unusable envelope; nothing recorded).
        """
        now = self._clock()
        transaction = await self._store.by_request_id(request_id)
        state = transaction.current_state(now)
        if state is not TransactionState.REQUEST_SENT:
            raise TransactionStateError("a response", state.value)
        key = self._response_key(transaction)
        response = read_response(
            form,
            mode=transaction.response_mode,
            key=key,
            encryption_values=self._settings.rules.encryption_values,
        )
        if not same_secret(response.state, transaction.request_id):
            raise WalletResponseError("response.state", "the state is another transaction's")
        receiving = transaction.after(Action.RECEIVE, now)
        await self._store.swap(transaction, receiving)

        if response.error is not None:
            final = receiving.after(
                Action.DECLINE,
                now,
                reason=RefusalReason.CANCELLED,
                check=f"wallet.{response.error}",
            )
        else:
            try:
                identity = await self._verify(receiving, response.vp_token, key, now)
            except PresentationRefused as exc:
                final = receiving.after(Action.REFUSE, now, reason=exc.reason, check=exc.check)
            else:
                sealed = self._keys.seal(
                    json.dumps(identity_to_data(identity)).encode(),
                    room=_SEALED_IDENTITY,
                    verification_id=receiving.transaction_id,
                )
                final = receiving.after(Action.VERIFY, now, sealed_identity=sealed)
        body: dict[str, str] = {}
        if final.flow is Flow.SAME_DEVICE:
            code = secrets.token_urlsafe(RANDOM_BYTES)
            final = replace(final, response_code_hash=sha256_b64url(code))
            body["redirect_uri"] = fill(self._settings.same_device_redirect, response_code=code)
        await self._store.swap(receiving, final)
        return WalletReply(body=body, verified=final.state is TransactionState.VERIFIED)

    # -- checks

    async def _verify(
        self, transaction: Transaction, vp_token: object, key: ECKey | None, now: float
    ) -> VerifiedIdentity:
        s = self._settings
        query_id, presentation = presented(vp_token_object(vp_token), transaction.dcql_query)
        variant = variant_by_query_id(query_id)
        if variant is None:
            raise PresentationRefused(
                RefusalReason.UNMATCHED_REQUEST, "vp-token.query", "an unknown query id"
            )
        expectation = Expectation(
            client_id=transaction.client_id,
            nonce=transaction.nonce,
            response_uri=fill(s.response_uri, request_id=transaction.request_id),
            encryption_thumbprint=jwk_thumbprint(key) if key is not None else None,
            now=now,
        )
        types = accepted_types(asked_types(transaction.dcql_query, query_id))
        credential: VerifiedCredential
        if variant.format is CredentialFormat.MDOC:
            credential = mdoc.verify_device_response(
                presentation,
                accepted_types=types,
                trust=s.trust,
                expectation=expectation,
                rules=s.rules,
            )
        else:
            credential = sd_jwt.verify_presentation(
                presentation,
                accepted_types=types,
                trust=s.trust,
                expectation=expectation,
                rules=s.rules,
            )
        await self._status.check(credential, trust=s.trust, rules=s.rules, now=now)
        proven = answer(transaction.policy, credential)
        return VerifiedIdentity(
            verifier=VERIFIER_NAME,
            purpose=transaction.policy.purpose,
            values=proven.values,
            tags=proven.tags,
            attribute_ids=proven.attribute_ids,
            issuers=(credential.issuer,),
            verified_at=int(now),
        )

    def _response_key(self, transaction: Transaction) -> ECKey | None:
        if transaction.sealed_response_key is None:
            return None
        plaintext = self._keys.open(
            transaction.sealed_response_key,
            room=_SEALED_KEY,
            verification_id=transaction.transaction_id,
        )
        return ECKey.import_key(json.loads(plaintext))

    def _reference(self, handle: VerifierHandle) -> str:
        if handle.verifier != VERIFIER_NAME:
            raise VerifierUnavailable("not a handle of the OpenID4VP verifier")
        return handle.reference


def _ascii(text: str) -> str:
    """A response code as given; a non-ASCII one cannot be ours (and must not crash)."""
    return text if text.isascii() else ""
