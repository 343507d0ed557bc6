"""DCQL queries from policies: one credential query per PID variant we trust, claim sets
in order of preference, and the answer read back against the policy."""

from __future__ import annotations

from typing import Any

import pytest

from identity.errors import PolicyError, PresentationRefused, RefusalReason
from identity.openid4vp.credential import CredentialFormat, VerifiedCredential
from identity.openid4vp.dcql import answer, asked_types, build_query
from identity.openid4vp.pid import (
    DOCTYPE_PID,
    VCT_PID_EU,
    VCT_PID_NL,
    accepted_types,
)
from identity.policy import Tag, policy_from_data
from tests.identity.openid4vp.support import BSN, Pki, assert_private

ALL = frozenset({VCT_PID_NL, VCT_PID_EU, DOCTYPE_PID})


def _query(dcql: dict[str, Any], query_id: str) -> dict[str, Any]:
    credentials: list[dict[str, Any]] = dcql["credentials"]
    return next(c for c in credentials if c["id"] == query_id)


def _ids(dcql: dict[str, Any]) -> list[str]:
    return [c["id"] for c in dcql["credentials"]]


def _paths(query: dict[str, Any], ids: list[str]) -> list[list[str]]:
    by_id = {c["id"]: c["path"] for c in query["claims"]}
    return sorted(by_id[i] for i in ids)


def test_each_variant_asks_its_own_claim_names() -> None:
    policy = policy_from_data("p", {"required": ["bsn", "over_18"]})
    dcql = build_query(policy, ALL)
    nl, eu, mdoc = (_query(dcql, i) for i in ("pid_nl", "pid_eu", "pid_mdoc"))
    assert nl["meta"] == {"vct_values": [VCT_PID_NL]}
    assert [c["path"] for c in nl["claims"]] == [["bsn"], ["age_over_18"]]
    assert [c["path"] for c in eu["claims"]] == [
        ["personal_administrative_number"],
        ["issuing_country"],
        ["age_equal_or_over", "18"],
    ]
    assert mdoc["meta"] == {"doctype_value": DOCTYPE_PID}
    assert mdoc["claims"][0] == {
        "id": "c0",
        "path": [DOCTYPE_PID, "personal_administrative_number"],
        "intent_to_retain": False,
    }
    assert "claim_sets" not in nl


def test_alternatives_and_optional_items_become_claim_sets_in_order_of_preference() -> None:
    policy = policy_from_data(
        "p", {"required": [["bsn", ["full_name", "birthdate"]]], "optional": ["address"]}
    )
    nl = _query(build_query(policy, frozenset({VCT_PID_NL})), "pid_nl")
    sets = [_paths(nl, ids) for ids in nl["claim_sets"]]
    address = [["address", n] for n in ("street_address", "house_number", "postal_code",
                                         "locality")]  # fmt: skip
    assert sets == [
        sorted([["bsn"], *address]),
        [["bsn"]],
        sorted([["given_name"], ["family_name"], ["birthdate"], *address]),
        sorted([["given_name"], ["family_name"], ["birthdate"]]),
    ]


def test_a_variant_that_cannot_answer_is_left_out() -> None:
    policy = policy_from_data("p", {"required": ["over_65"]})
    dcql = build_query(policy, ALL)
    assert _ids(dcql) == ["pid_eu", "pid_mdoc"]


def test_untrusted_types_are_not_asked_and_a_lone_query_has_no_credential_sets() -> None:
    dcql = build_query(policy_from_data("p", {"required": ["bsn"]}), frozenset({VCT_PID_NL}))
    assert _ids(dcql) == ["pid_nl"]
    assert "credential_sets" not in dcql
    assert asked_types(dcql, "pid_nl") == (VCT_PID_NL,)
    assert asked_types(dcql, "pid_eu") == ()


def test_a_policy_nothing_can_answer_is_a_policy_error() -> None:
    with pytest.raises(PolicyError):
        build_query(policy_from_data("p", {"required": ["email"]}), frozenset({VCT_PID_NL}))


def test_the_nl_type_answers_a_query_for_the_eu_type() -> None:
    assert accepted_types((VCT_PID_EU,)) == {VCT_PID_EU, VCT_PID_NL}
    assert accepted_types((VCT_PID_NL,)) == {VCT_PID_NL}


def _credential(pki: Pki, claims: dict[str, object]) -> VerifiedCredential:
    return VerifiedCredential(CredentialFormat.SD_JWT_VC, VCT_PID_NL, claims, pki.leaf)


def test_the_answer_takes_the_first_alternative_proven_and_drops_extras(pki_nl: Pki) -> None:
    policy = policy_from_data("p", {"required": [["bsn", "birthdate"]], "optional": ["over_18"]})
    claims = {"bsn": BSN, "birthdate": "1990-01-01", "age_over_18": False, "given_name": "Test"}
    proven = answer(policy, _credential(pki_nl, claims))
    assert proven.values == {"bsn": BSN}
    assert proven.tags == {Tag.BSN}  # over_18 is false: not proven, and optional
    assert proven.attribute_ids == ("urn:eudi:pid:nl:1#bsn",)
    assert_private(proven)


@pytest.mark.parametrize(
    ("claims", "check", "reason"),
    [
        ({"given_name": "Test"}, "claims.missing", RefusalReason.MISSING_ATTRIBUTES),
        ({"bsn": "999999991"}, "claims.value", RefusalReason.RESULT_MALFORMED),
        ({"bsn": 999999990}, "claims.value", RefusalReason.RESULT_MALFORMED),
        ({"bsn": BSN, "age_over_18": "yes"}, "claims.value", RefusalReason.RESULT_MALFORMED),
        ({"bsn": BSN, "age_over_18": False}, "claims.missing", RefusalReason.MISSING_ATTRIBUTES),
        ({"bsn": BSN, "age_over_18": True, "birthdate": "01-01-1990"}, "claims.value",
         RefusalReason.RESULT_MALFORMED),
    ],
)  # fmt: skip
def test_a_claim_that_does_not_prove_its_tag_is_refused(
    pki_nl: Pki, claims: dict[str, object], check: str, reason: RefusalReason
) -> None:
    policy = policy_from_data("p", {"required": ["bsn", "over_18"], "optional": ["birthdate"]})
    with pytest.raises(PresentationRefused) as refused:
        answer(policy, _credential(pki_nl, claims))
    assert (refused.value.check, refused.value.reason) == (check, reason)
    assert_private(refused.value)
