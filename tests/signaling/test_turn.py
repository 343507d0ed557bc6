"""TURN credentials (coturn use-auth-secret) and the ICE server list, with plain values.

tests/server/call/test_turn_coturn.py checks the same credentials against a real coturn.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from signaling.turn import IceSettings, ice_servers_for, turn_credentials


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username, password = turn_credentials("s3cret", "p_abc", 1_700_000_000)
    assert username == "1700000000:p_abc"
    expected = hmac.new(b"s3cret", b"1700000000:p_abc", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected
    assert len(base64.b64decode(password)) == 20  # SHA-1


def test_known_vector() -> None:
    # computed once with openssl:
    # printf %s '1700000000:p_abc' | openssl dgst -sha1 -hmac s3cret -binary | base64
    assert turn_credentials("s3cret", "p_abc", 1_700_000_000)[1] == "Ct5vkXUitpsbmhC0NOY/szDaR5Y="


def test_credentials_depend_on_secret_participant_and_expiry() -> None:
    base = turn_credentials("a", "p", 100)
    assert turn_credentials("b", "p", 100)[1] != base[1]
    assert turn_credentials("a", "q", 100) != base
    assert turn_credentials("a", "p", 101) != base
    assert turn_credentials("a", "p", 100) == base


def test_no_ice_servers_by_default() -> None:
    assert ice_servers_for(IceSettings(), "p", 1000) == []


def test_stun_only_has_no_credentials() -> None:
    settings = IceSettings(stun_urls=("stun:stun.example:3478",))
    assert ice_servers_for(settings, "p", 1000) == [{"urls": ["stun:stun.example:3478"]}]


def test_turn_servers_get_per_participant_credentials() -> None:
    settings = IceSettings(
        stun_urls=("stun:a:3478",),
        turn_urls=("turn:a:3478?transport=udp", "turns:a:5349?transport=tcp"),
        turn_secret="geheim",
        turn_ttl=600,
    )
    stun, turn = ice_servers_for(settings, "p_1", 1000)
    assert stun == {"urls": ["stun:a:3478"]}
    assert turn["urls"] == ["turn:a:3478?transport=udp", "turns:a:5349?transport=tcp"]
    assert turn["username"] == "1600:p_1"
    assert (turn["username"], turn["credential"]) == turn_credentials("geheim", "p_1", 1600)
    other = ice_servers_for(settings, "p_2", 1000)[1]
    assert other["credential"] != turn["credential"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"turn_urls": ("turn:a",)},  # no secret
        {"turn_ttl": 0},
        {"turn_ttl": -5},
        {"stun_urls": ("http://a",)},
        {"stun_urls": ("turn:a",)},
        {"turn_urls": ("stun:a",), "turn_secret": "s"},
        {"turn_urls": ("https://a",), "turn_secret": "s"},
    ],
)
def test_bad_ice_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        IceSettings(**kwargs)  # type: ignore[arg-type]


def test_secret_is_not_in_the_repr() -> None:
    settings = IceSettings(turn_urls=("turn:a",), turn_secret="zeer-geheim")
    assert "zeer-geheim" not in repr(settings)
