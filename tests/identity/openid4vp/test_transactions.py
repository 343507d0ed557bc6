"""The transaction state machine (transitions as data) and its in-memory store."""

from __future__ import annotations

import itertools

import pytest

from identity.errors import IdentityError, RefusalReason, TransactionStateError, UnknownTransaction
from identity.openid4vp.transactions import (
    TRANSITIONS,
    Action,
    MemoryTransactions,
    TransactionState,
    transaction_from_data,
    transaction_to_data,
)
from tests.identity.openid4vp.support import a_transaction

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("state", "action"), list(itertools.product(TransactionState, Action)))
def test_every_transition_follows_the_table_and_others_name_the_state(
    state: TransactionState, action: Action
) -> None:
    transaction = a_transaction(NOW, state=state)
    following = TRANSITIONS.get((state, action))
    if following is None or state is TransactionState.EXPIRED:
        with pytest.raises(TransactionStateError) as refused:
            transaction.after(action, NOW)
        assert refused.value.state == state.value
        assert repr(state.value) in str(refused.value)
    else:
        assert transaction.after(action, NOW).state is following


def test_a_non_final_transaction_past_its_expiry_is_expired() -> None:
    assert a_transaction(NOW).current_state(NOW + 300) is TransactionState.EXPIRED
    verified = a_transaction(NOW, state=TransactionState.VERIFIED)
    assert verified.current_state(NOW + 300) is TransactionState.VERIFIED
    with pytest.raises(TransactionStateError) as late:
        a_transaction(NOW).after(Action.RETRIEVE, NOW + 301)
    assert late.value.state == "expired"


def test_the_repr_hides_every_secret() -> None:
    text = repr(a_transaction(NOW, sealed_identity="v1.k1.sealed.identity", response_code_hash="h"))
    for secret in ("secret-transaction-id-1", "secret-nonce-value", "sealed"):
        assert secret not in text


def test_plain_data_round_trips() -> None:
    transaction = a_transaction(NOW,
        state=TransactionState.REFUSED, reason=RefusalReason.CREDENTIAL_REVOKED,
        check="status.revoked", response_code_hash="hash",
    )  # fmt: skip
    data = transaction_to_data(transaction)
    assert transaction_from_data(data) == transaction
    assert data["reason"] == "credential-revoked"


@pytest.mark.parametrize(
    "broken",
    [None, {}, {**transaction_to_data(a_transaction(NOW)), "state": "flying"}],
)
def test_malformed_data_is_refused_without_echoing_it(broken: object) -> None:
    with pytest.raises(IdentityError) as refused:
        transaction_from_data(broken)
    assert "flying" not in str(refused.value)


async def test_the_store_finds_by_either_id_and_swaps_only_from_the_state_it_read() -> None:
    store = MemoryTransactions()
    created = a_transaction(NOW)
    await store.insert(created)
    with pytest.raises(IdentityError):
        await store.insert(created)
    assert await store.by_request_id("public-request-id-1") == created
    sent = created.after(Action.RETRIEVE, NOW)
    await store.swap(created, sent)
    # a second node that read CREATED loses the race
    with pytest.raises(TransactionStateError) as lost:
        await store.swap(created, sent)
    assert lost.value.state == "request-sent"
    assert (await store.by_transaction_id("secret-transaction-id-1")).state is (
        TransactionState.REQUEST_SENT
    )
    with pytest.raises(UnknownTransaction):
        await store.by_transaction_id("other")
    assert await store.purge(NOW + 299) == 0
    assert await store.purge(NOW + 300) == 1
    assert len(store) == 0
    with pytest.raises(UnknownTransaction):
        await store.by_request_id("public-request-id-1")
