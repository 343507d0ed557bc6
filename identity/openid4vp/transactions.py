"""OpenID4VP transactions: the state of one presentation request, and where it is kept.

Two random values per transaction (OID4VP §13.3, §14.4.3): the secret
``transaction_id`` stays on our side (it is the verifier handle's reference,
behind the browser's verification id) and the public ``request_id`` goes to the
wallet (request URI, response URI, ``state``). The rules, as data in
:data:`TRANSITIONS`::

    CREATED --retrieve--> REQUEST_SENT --receive--> RECEIVING --verify--> VERIFIED
       |                      |                         |--refuse--> REFUSED
       |                      |                         \\--decline--> DECLINED
       \\--cancel--> CANCELLED <--cancel--/
    VERIFIED --collect--> COLLECTED

- the request object is served once (``retrieve``), a response is taken once
  (``receive``, before the slow checks, so a second response finds RECEIVING);
- a non-final transaction past ``expires_at`` is EXPIRED and allows nothing;
- ``collect`` hands the verified identity over once and forgets it.

Every transition is a pure method returning a new frozen :class:`Transaction`;
a store keeps them with a compare-and-set on ``state`` (:class:`TransactionStore`),
so two nodes racing for one transition cannot both win.

Secrets in a transaction are sealed before they get here (the response key and
the verified identity, with the vault's key ring) or hashed (the response code),
so :func:`transaction_to_data` is plain data a SQL row may hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final, Protocol

from identity.errors import (
    IdentityError,
    RefusalReason,
    TransactionStateError,
    UnknownTransaction,
)
from identity.openid4vp.config import Flow, ResponseMode
from identity.policy import DisclosurePolicy, policy_from_data, policy_to_data


class TransactionState(StrEnum):
    #: started; the wallet has not fetched the request object
    CREATED = "created"
    #: the wallet fetched the request object (once); we wait for its response
    REQUEST_SENT = "request-sent"
    #: a response arrived and is being checked; no second one is taken
    RECEIVING = "receiving"
    #: the response passed every check; the sealed identity waits to be collected
    VERIFIED = "verified"
    #: the response failed a check; ``reason`` and ``check`` say which
    REFUSED = "refused"
    #: the wallet answered with an error (the resident declined, or had no PID)
    DECLINED = "declined"
    #: the identity was handed over and forgotten
    COLLECTED = "collected"
    #: the resident or the page stopped it
    CANCELLED = "cancelled"
    #: not finished in time (derived from ``expires_at``; never stored by a transition)
    EXPIRED = "expired"


class Action(StrEnum):
    RETRIEVE = "retrieve"
    RECEIVE = "receive"
    VERIFY = "verify"
    REFUSE = "refuse"
    DECLINE = "decline"
    COLLECT = "collect"
    CANCEL = "cancel"


S = TransactionState
#: (state, action) -> next state; anything else raises :class:`TransactionStateError`
TRANSITIONS: Final[Mapping[tuple[TransactionState, Action], TransactionState]] = {
    (S.CREATED, Action.RETRIEVE): S.REQUEST_SENT,
    (S.REQUEST_SENT, Action.RECEIVE): S.RECEIVING,
    (S.RECEIVING, Action.VERIFY): S.VERIFIED,
    (S.RECEIVING, Action.REFUSE): S.REFUSED,
    (S.RECEIVING, Action.DECLINE): S.DECLINED,
    (S.VERIFIED, Action.COLLECT): S.COLLECTED,
    (S.CREATED, Action.CANCEL): S.CANCELLED,
    (S.REQUEST_SENT, Action.CANCEL): S.CANCELLED,
}
#: states after which nothing more happens to the wallet side
FINAL: Final = frozenset({S.VERIFIED, S.REFUSED, S.DECLINED, S.COLLECTED, S.CANCELLED})


@dataclass(frozen=True, slots=True)
class Transaction:
    #: secret: only our side knows it (the verifier handle's reference)
    transaction_id: str = field(repr=False)
    #: public: in the request URI, the response URI and ``state``
    request_id: str
    nonce: str = field(repr=False)
    client_id: str
    flow: Flow
    response_mode: ResponseMode
    policy: DisclosurePolicy
    #: the DCQL query sent, kept so the answer is checked against what was asked
    dcql_query: Mapping[str, object] = field(repr=False)
    #: our response decryption key (JWK with ``d``), sealed; ``None`` for ``direct_post``
    sealed_response_key: str | None = field(repr=False)
    state: TransactionState
    created_at: float
    expires_at: float
    #: SHA-256 (b64url) of the same-device response code, once given out
    response_code_hash: str | None = field(default=None, repr=False)
    #: the verified identity, sealed, until collected
    sealed_identity: str | None = field(default=None, repr=False)
    reason: RefusalReason | None = None
    #: the log-safe code of the failed check
    check: str | None = None

    def current_state(self, now: float) -> TransactionState:
        if self.state not in FINAL and now >= self.expires_at:
            return TransactionState.EXPIRED
        return self.state

    def after(self, action: Action, now: float, **changes: object) -> Transaction:
        """The transaction after ``action`` at ``now``, with ``changes`` applied."""
        current = self.current_state(now)
        following = TRANSITIONS.get((current, action))
        if following is None:
            raise TransactionStateError(action.value, current.value)
        return replace(self, state=following, **changes)  # type: ignore[arg-type]


class TransactionStore(Protocol):
    """Transactions by transaction id and by request id. A SQL implementation keeps
    :func:`transaction_to_data` in a row with ``transaction_id``, ``request_id``,
    ``state`` and ``expires_at`` columns (ids unique)."""

    async def insert(self, transaction: Transaction) -> None: ...

    async def by_transaction_id(self, transaction_id: str) -> Transaction:
        """Raises :class:`UnknownTransaction`."""
        ...

    async def by_request_id(self, request_id: str) -> Transaction:
        """Raises :class:`UnknownTransaction`."""
        ...

    async def swap(self, current: Transaction, new: Transaction) -> Transaction:
        """Store ``new`` only if the stored transaction is still in ``current.state``
        (``UPDATE ... WHERE transaction_id = ? AND state = ?``); otherwise raise
        :class:`TransactionStateError` naming the stored state."""
        ...

    async def purge(self, now: float) -> int:
        """Forget transactions past their expiry (final ones too); returns how many."""
        ...


class MemoryTransactions:
    """The in-process :class:`TransactionStore` (one node, tests). No method awaits
    between reading and writing, so each is atomic under asyncio."""

    def __init__(self) -> None:
        self._by_id: dict[str, Transaction] = {}
        self._id_by_request: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    async def insert(self, transaction: Transaction) -> None:
        if (
            transaction.transaction_id in self._by_id
            or transaction.request_id in self._id_by_request
        ):
            raise IdentityError("a transaction with that id exists")
        self._by_id[transaction.transaction_id] = transaction
        self._id_by_request[transaction.request_id] = transaction.transaction_id

    async def by_transaction_id(self, transaction_id: str) -> Transaction:
        transaction = self._by_id.get(transaction_id)
        if transaction is None:
            raise UnknownTransaction("no such transaction")
        return transaction

    async def by_request_id(self, request_id: str) -> Transaction:
        transaction_id = self._id_by_request.get(request_id)
        if transaction_id is None:
            raise UnknownTransaction("no such request")
        return await self.by_transaction_id(transaction_id)

    async def swap(self, current: Transaction, new: Transaction) -> Transaction:
        stored = self._by_id.get(current.transaction_id)
        if stored is None:
            raise UnknownTransaction("no such transaction")
        if stored.state is not current.state:
            raise TransactionStateError("this change", stored.state.value)
        self._by_id[new.transaction_id] = new
        return new

    async def purge(self, now: float) -> int:
        expired = [t for t in self._by_id.values() if now >= t.expires_at]
        for transaction in expired:
            del self._by_id[transaction.transaction_id]
            del self._id_by_request[transaction.request_id]
        return len(expired)


def transaction_to_data(transaction: Transaction) -> dict[str, object]:
    """JSON-able form for a store; secrets in it are sealed or hashed already."""
    t = transaction
    return {
        "transaction_id": t.transaction_id,
        "request_id": t.request_id,
        "nonce": t.nonce,
        "client_id": t.client_id,
        "flow": t.flow.value,
        "response_mode": t.response_mode.value,
        "purpose": t.policy.purpose,
        "policy": policy_to_data(t.policy),
        "dcql_query": dict(t.dcql_query),
        "sealed_response_key": t.sealed_response_key,
        "state": t.state.value,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "response_code_hash": t.response_code_hash,
        "sealed_identity": t.sealed_identity,
        "reason": t.reason.code if t.reason is not None else None,
        "check": t.check,
    }


def transaction_from_data(data: object) -> Transaction:
    """The mirror of :func:`transaction_to_data`; :class:`IdentityError` if malformed."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError
        reason_code = _optional_str(data["reason"])
        dcql_query = data["dcql_query"]
        if not isinstance(dcql_query, Mapping):
            raise TypeError
        return Transaction(
            transaction_id=_str(data["transaction_id"]),
            request_id=_str(data["request_id"]),
            nonce=_str(data["nonce"]),
            client_id=_str(data["client_id"]),
            flow=Flow(_str(data["flow"])),
            response_mode=ResponseMode(_str(data["response_mode"])),
            policy=policy_from_data(_str(data["purpose"]), data["policy"]),
            dcql_query=dict(dcql_query),
            sealed_response_key=_optional_str(data["sealed_response_key"]),
            state=TransactionState(_str(data["state"])),
            created_at=_number(data["created_at"]),
            expires_at=_number(data["expires_at"]),
            response_code_hash=_optional_str(data["response_code_hash"]),
            sealed_identity=_optional_str(data["sealed_identity"]),
            reason=_REASONS[reason_code] if reason_code is not None else None,
            check=_optional_str(data["check"]),
        )
    except (KeyError, TypeError, ValueError, IdentityError):
        raise IdentityError("stored OpenID4VP transaction is malformed") from None


_REASONS: Final = {reason.code: reason for reason in RefusalReason}


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)
