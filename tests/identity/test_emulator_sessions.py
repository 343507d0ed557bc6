"""The emulator's pure parts: checking a wallet's choice against the request."""

from __future__ import annotations

import pytest

from identity.emulator import RemoteError
from identity.emulator.request import parse_disclosure_request
from identity.emulator.sessions import ProofStatus, Submitted, evaluate_disclosure
from tests.identity.conftest import BSN, DATEOFBIRTH, EMAIL, FULLNAME, disclosure

NOW = 1_700_000_000


def check(request: dict[str, object], *choice: list[Submitted]) -> ProofStatus:
    status, _ = evaluate_disclosure(parse_disclosure_request(request), list(choice), now=NOW)
    return status


def test_each_disjunction_is_checked() -> None:
    request = disclosure([[BSN], [FULLNAME, DATEOFBIRTH]], [[], [EMAIL]])
    bsn = Submitted(BSN, "999999990")
    pair = [Submitted(FULLNAME, "Test Persoon"), Submitted(DATEOFBIRTH, "1970-01-01")]
    assert check(request, [bsn], []) is ProofStatus.VALID
    assert check(request, pair, [Submitted(EMAIL, "test@example.org")]) is ProofStatus.VALID
    assert check(request, pair[:1], []) is ProofStatus.MISSING_ATTRIBUTES
    assert check(request, [], []) is ProofStatus.MISSING_ATTRIBUTES
    # an attribute of the wrong disjunction does not count
    assert check(request, [Submitted(EMAIL, "test@example.org")], []) is (
        ProofStatus.MISSING_ATTRIBUTES
    )


def test_fixed_values_and_not_null() -> None:
    fixed = disclosure([[{"type": BSN, "value": "999999990"}]])
    assert check(fixed, [Submitted(BSN, "999999990")]) is ProofStatus.VALID
    assert check(fixed, [Submitted(BSN, "111222333")]) is ProofStatus.MISSING_ATTRIBUTES
    assert check(fixed, [Submitted(BSN, None)]) is ProofStatus.MISSING_ATTRIBUTES
    not_null = disclosure([[{"type": BSN, "notNull": True}]])
    assert check(not_null, [Submitted(BSN, None)]) is ProofStatus.MISSING_ATTRIBUTES
    assert check(disclosure([[BSN]]), [Submitted(BSN, None)]) is ProofStatus.VALID


def test_unmet_disjunctions_are_null_and_unasked_attributes_dropped() -> None:
    # irmago AttributeConDisCon.Satisfy (irma/requests.go): list[i] = nil when disjunction i is
    # not satisfied; a satisfied one holds exactly its conjunction's attributes
    request = parse_disclosure_request(disclosure([[BSN]], [[FULLNAME, DATEOFBIRTH]]))
    status, disclosed = evaluate_disclosure(
        request,
        [
            [Submitted(BSN, "999999990"), Submitted(EMAIL, "test@example.org")],
            [Submitted(FULLNAME, "Test Persoon")],
        ],
        now=NOW,
    )
    assert status is ProofStatus.MISSING_ATTRIBUTES
    assert disclosed is not None
    assert [a.id for a in disclosed[0] or []] == [BSN]
    assert disclosed[1] is None
    # fewer answers than disjunctions: nothing matched at all
    assert evaluate_disclosure(request, [[Submitted(BSN, "999999990")]], now=NOW) == (
        ProofStatus.MISSING_ATTRIBUTES,
        None,
    )


@pytest.mark.parametrize(
    "choice",
    [
        [[], [], []],
        [[Submitted(BSN, "1"), Submitted(BSN, "2")]],
    ],
    ids=["too many", "twice"],
)
def test_malformed_choices_are_refused(choice: list[list[Submitted]]) -> None:
    with pytest.raises(RemoteError) as refused:
        evaluate_disclosure(parse_disclosure_request(disclosure([[BSN]])), choice, now=NOW)
    assert refused.value.kind.error == "MALFORMED_INPUT"
