"""The verifier interface's value types: storage forms, reprs, the status enum."""

from __future__ import annotations

import pytest

from identity.errors import IdentityError
from identity.policy import Tag
from identity.verifier import (
    VerificationStatus,
    VerifiedIdentity,
    VerifierHandle,
    handle_from_data,
    handle_to_data,
    identity_from_data,
    identity_to_data,
)
from tests.identity.results import FAKE_BSN, POLICY, TOKEN

IDENTITY = VerifiedIdentity(
    verifier="yivi",
    purpose=POLICY.purpose,
    values={"bsn": FAKE_BSN},
    tags=frozenset({Tag.BSN}),
    attribute_ids=("pbdf.gemeente.personalData.bsn",),
    issuers=("pbdf.gemeente",),
    verified_at=1_000,
)


def test_handle_round_trips_and_hides_its_reference() -> None:
    handle = VerifierHandle("yivi", TOKEN, POLICY, demo=True)
    assert handle_from_data(handle_to_data(handle)) == handle
    assert TOKEN not in repr(handle)


def test_identity_round_trips_and_hides_values() -> None:
    assert identity_from_data(identity_to_data(IDENTITY)) == IDENTITY
    assert FAKE_BSN not in repr(IDENTITY)
    with pytest.raises(TypeError):
        IDENTITY.values["bsn"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "change",
    [{"values": {"bsn": 999999990}}, {"verified_at": "1000"}, {"tags": ["nope"]}, {"demo": None}],
    ids=["value-not-a-string", "time-not-int", "unknown-tag", "demo-missing"],
)
def test_malformed_stored_identity_does_not_echo_values(change: dict[str, object]) -> None:
    data = {**identity_to_data(IDENTITY), **change}
    with pytest.raises(IdentityError) as caught:
        identity_from_data(data)
    assert FAKE_BSN not in str(caught.value)


def test_malformed_stored_handle() -> None:
    with pytest.raises(IdentityError):
        handle_from_data({"verifier": "yivi"})


def test_final_statuses() -> None:
    assert {s for s in VerificationStatus if s.final} == {
        VerificationStatus.DONE,
        VerificationStatus.CANCELLED,
        VerificationStatus.TIMEOUT,
    }
