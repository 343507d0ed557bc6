"""The scripted test wallet's choices, without a server."""

from __future__ import annotations

import pytest

from identity.wallet import choose, session_url
from tests.identity.conftest import BSN, DATEOFBIRTH, EMAIL, FULLNAME, disclosure


def test_it_picks_the_first_conjunction_it_holds() -> None:
    request = disclosure([[BSN], [FULLNAME, DATEOFBIRTH]])
    held = {FULLNAME: "Test Persoon", DATEOFBIRTH: "1970-01-01"}
    assert choose(request, held) == [
        [
            {"id": FULLNAME, "rawvalue": "Test Persoon"},
            {"id": DATEOFBIRTH, "rawvalue": "1970-01-01"},
        ]
    ]
    assert choose(request, {**held, BSN: "999999990"}) == [[{"id": BSN, "rawvalue": "999999990"}]]


def test_optional_items_are_shared_when_held_and_skipped_otherwise() -> None:
    request = disclosure([[], [EMAIL]])
    assert choose(request, {EMAIL: "test@example.org"}) == [
        [{"id": EMAIL, "rawvalue": "test@example.org"}]
    ]
    assert choose(request, {}) == [[]]


def test_a_conjunction_that_meets_fixed_values_wins() -> None:
    request = disclosure([[{"type": BSN, "value": "111222333"}], [{"type": BSN, "value": None}]])
    assert choose(request, {BSN: "999999990"}) == [[{"id": BSN, "rawvalue": "999999990"}]]
    # holding only a wrong value, it still answers, so the server can say MISSING_ATTRIBUTES
    only_fixed = disclosure([[{"type": BSN, "value": "111222333"}]])
    assert choose(only_fixed, {BSN: "999999990"}) == [[{"id": BSN, "rawvalue": "999999990"}]]


def test_session_url_accepts_a_pointer_or_its_u() -> None:
    u = "http://127.0.0.1:1/irma/session/AAAAAAAAAAAAAAAAAAAA"
    assert session_url({"u": u, "irmaqr": "disclosing"}) == u
    assert session_url(u + "/") == u
    with pytest.raises(ValueError, match="absolute"):
        session_url({"irmaqr": "disclosing"})
