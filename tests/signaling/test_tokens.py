"""Room tokens: one valid token accepted, every forgery refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from signaling.errors import TokenError, TokenExpired, TokenNotYetValid
from signaling.roles import Role
from signaling.tokens import (
    AUDIENCE,
    LEEWAY_SECONDS,
    KeySet,
    RoomClaims,
    issue_room_token,
    verify_room_token,
)

ISSUER = "balie"


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return KeySet.generate()


def now() -> int:
    return int(time.time())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(**changes: Any) -> dict[str, Any]:
    t = now()
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "p_1",
        "room": "r_1",
        "role": "resident",
        "iat": t,
        "nbf": t,
        "exp": t + 600,
        "jti": "j1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP: Any = object()


def sign(keys: KeySet, payload: dict[str, Any], **headers: Any) -> str:
    """A properly EdDSA-signed token with the set's active key and kid."""
    header = {"kid": keys.active, **headers}
    return jwt.encode(payload, keys.signer()[1], algorithm="EdDSA", headers=header)


def hmac_token(secret: bytes, kid: str, payload: dict[str, Any]) -> str:
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def public_pem(keys: KeySet) -> bytes:
    key = keys.public_key(keys.active)
    assert key is not None
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_raw(keys: KeySet) -> bytes:
    key = keys.public_key(keys.active)
    assert key is not None
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify(keys: KeySet, token: str) -> RoomClaims:
    return verify_room_token(keys, token, issuer=ISSUER)


# -- accepted ----------------------------------------------------------------------


def test_a_valid_token_is_accepted(keys: KeySet) -> None:
    t = now()
    token = issue_room_token(
        keys,
        issuer=ISSUER,
        room="r_abc",
        participant_id="p_xyz",
        role=Role.SPECIALIST,
        now=t,
        ttl=600,
    )
    assert verify(keys, token) == RoomClaims(
        "r_abc", "p_xyz", Role.SPECIALIST, t + 600, not_before=t
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == keys.active
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "room", "role", "iat", "nbf", "exp", "jti"}


def test_a_purpose_rides_in_the_token(keys: KeySet) -> None:
    """The purpose decides which attributes a resident must disclose, so it
    is signed with the seat rather than chosen by the page."""
    t = now()
    token = issue_room_token(
        keys,
        issuer=ISSUER,
        room="r_abc",
        participant_id="p_xyz",
        role=Role.RESIDENT,
        now=t,
        ttl=600,
        purpose="wmo",
        tenant="demo",
    )
    claims = RoomClaims(
        "r_abc", "p_xyz", Role.RESIDENT, t + 600, purpose="wmo", tenant="demo", not_before=t
    )
    assert verify(keys, token) == claims
    with pytest.raises(ValueError):
        issue_room_token(
            keys,
            issuer=ISSUER,
            room="r",
            participant_id="p",
            role=Role.RESIDENT,
            now=t,
            ttl=60,
            purpose="no spaces",
            tenant="demo",
        )
    with pytest.raises(ValueError):
        issue_room_token(
            keys,
            issuer=ISSUER,
            room="r",
            participant_id="p",
            role=Role.RESIDENT,
            now=t,
            ttl=60,
            purpose="wmo",
        )


def test_token_ids_are_unique(keys: KeySet) -> None:
    tokens = [
        issue_room_token(
            keys, issuer=ISSUER, room="r", participant_id="p", role=Role.GUEST, now=now(), ttl=60
        )
        for _ in range(20)
    ]
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}
    assert len(jtis) == 20


def test_clock_skew_within_the_leeway_is_accepted(keys: KeySet) -> None:
    t = now()
    verify(keys, sign(keys, claims(exp=t - LEEWAY_SECONDS + 5)))
    verify(keys, sign(keys, claims(nbf=t + LEEWAY_SECONDS - 5, iat=t + LEEWAY_SECONDS - 5)))


def test_issue_refuses_ids_outside_the_pattern(keys: KeySet) -> None:
    for room, pid in (("r/1", "p"), ("r", "p 1"), ("", "p"), ("r", "x" * 65)):
        with pytest.raises(ValueError):
            issue_room_token(
                keys,
                issuer=ISSUER,
                room=room,
                participant_id=pid,
                role=Role.RESIDENT,
                now=now(),
                ttl=60,
            )


def test_not_before_is_honoured(keys: KeySet) -> None:
    t = now()
    token = issue_room_token(
        keys,
        issuer=ISSUER,
        room="r",
        participant_id="p",
        role=Role.RESIDENT,
        now=t,
        ttl=3600,
        not_before=t + 600,
    )
    with pytest.raises(TokenError):
        verify(keys, token)


# -- refused -----------------------------------------------------------------------

Forge = Callable[[KeySet], str]

FORGERIES: dict[str, Forge] = {
    "expired": lambda k: sign(k, claims(exp=now() - LEEWAY_SECONDS - 5)),
    "not yet valid (nbf)": lambda k: sign(k, claims(nbf=now() + LEEWAY_SECONDS + 60)),
    "issued in the future (iat)": lambda k: sign(k, claims(iat=now() + LEEWAY_SECONDS + 60)),
    "wrong audience": lambda k: sign(k, claims(aud="balie:admin")),
    "audience list": lambda k: sign(k, claims(aud=[AUDIENCE, "other"])),
    "wrong issuer": lambda k: sign(k, claims(iss="evil")),
    "missing exp": lambda k: sign(k, claims(exp=_DROP)),
    "missing nbf": lambda k: sign(k, claims(nbf=_DROP)),
    "missing iat": lambda k: sign(k, claims(iat=_DROP)),
    "missing iss": lambda k: sign(k, claims(iss=_DROP)),
    "missing aud": lambda k: sign(k, claims(aud=_DROP)),
    "missing sub": lambda k: sign(k, claims(sub=_DROP)),
    "missing jti": lambda k: sign(k, claims(jti=_DROP)),
    "missing room": lambda k: sign(k, claims(room=_DROP)),
    "missing role": lambda k: sign(k, claims(role=_DROP)),
    "purpose outside the id pattern": lambda k: sign(k, claims(purpose="w/../x", tenant="d")),
    "purpose is a number": lambda k: sign(k, claims(purpose=7, tenant="demo")),
    "purpose without a tenant": lambda k: sign(k, claims(purpose="wmo")),
    "tenant outside the id pattern": lambda k: sign(k, claims(purpose="wmo", tenant="a b")),
    "exp is a string": lambda k: sign(k, claims(exp="tomorrow")),
    "alg none": lambda k: (
        f"{b64json({'alg': 'none', 'typ': 'JWT', 'kid': k.active})}.{b64json(claims())}."
    ),
    "alg None": lambda k: f"{b64json({'alg': 'None', 'kid': k.active})}.{b64json(claims())}.",
    "HS256 with the public key PEM as secret": lambda k: hmac_token(
        public_pem(k), k.active, claims()
    ),
    "HS256 with the raw public key as secret": lambda k: hmac_token(
        public_raw(k), k.active, claims()
    ),
    "HS256 with the public key JWK as secret": lambda k: hmac_token(
        json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b64(public_raw(k))}).encode(),
        k.active,
        claims(),
    ),
    "another Ed25519 key under a valid kid": lambda k: jwt.encode(
        claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": k.active}
    ),
    "unknown kid": lambda k: jwt.encode(
        claims(), k.signer()[1], algorithm="EdDSA", headers={"kid": "k-unknown"}
    ),
    "missing kid": lambda k: jwt.encode(claims(), k.signer()[1], algorithm="EdDSA"),
    "kid is a number": lambda k: _swap_header(sign(k, claims()), {"alg": "EdDSA", "kid": 1}),
    "kid path traversal": lambda k: jwt.encode(
        claims(), k.signer()[1], algorithm="EdDSA", headers={"kid": "../../etc/passwd"}
    ),
    "kid SQL": lambda k: jwt.encode(
        claims(), k.signer()[1], algorithm="EdDSA", headers={"kid": "x' OR '1'='1"}
    ),
    "embedded jwk": lambda k: sign(
        k, claims(), jwk={"kty": "OKP", "crv": "Ed25519", "x": b64(public_raw(k))}
    ),
    "jku": lambda k: sign(k, claims(), jku="https://evil.example/keys.json"),
    "x5u": lambda k: sign(k, claims(), x5u="https://evil.example/cert.pem"),
    "x5c": lambda k: sign(k, claims(), x5c=["MIIB"]),
    "crit": lambda k: sign(k, claims(), crit=["exp"]),
    "tampered payload": lambda k: _tamper_payload(sign(k, claims()), role="specialist"),
    "tampered room": lambda k: _tamper_payload(sign(k, claims()), room="r_other"),
    "tampered signature": lambda k: _tamper_signature(sign(k, claims())),
    "signature stripped": lambda k: sign(k, claims()).rsplit(".", 1)[0] + ".",
    "bad role": lambda k: sign(k, claims(role="admin")),
    "role is a list": lambda k: sign(k, claims(role=["specialist"])),
    "room with bad characters": lambda k: sign(k, claims(room="../r_1")),
    "room with a space": lambda k: sign(k, claims(room="r 1")),
    "room too long": lambda k: sign(k, claims(room="r" * 65)),
    "room is a number": lambda k: sign(k, claims(room=12)),
    "sub with bad characters": lambda k: sign(k, claims(sub="p_1;drop")),
    "ES256 header on an EdDSA signature": lambda k: _swap_header(
        sign(k, claims()), {"alg": "ES256", "kid": k.active}
    ),
    "header is a list": lambda k: _swap_header(sign(k, claims()), ["EdDSA"]),
    "garbage": lambda k: "garbage",
    "empty": lambda k: "",
    "three dots": lambda k: "a.b.c",
    "long garbage": lambda k: "x." * 2000,
}


def _parts(token: str) -> list[str]:
    return token.split(".")


def _tamper_payload(token: str, **changes: Any) -> str:
    header, payload, signature = _parts(token)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return f"{header}.{b64json(data)}.{signature}"


def _tamper_signature(token: str) -> str:
    header, payload, signature = _parts(token)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return f"{header}.{payload}.{b64(bytes(raw))}"


def _swap_header(token: str, header: Any) -> str:
    _, payload, signature = _parts(token)
    return f"{b64json(header)}.{payload}.{signature}"


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_or_invalid_token_is_refused(keys: KeySet, name: str) -> None:
    token = FORGERIES[name](keys)
    with pytest.raises(TokenError) as caught:
        verify(keys, token)
    assert caught.value.code in ("token-invalid", "token-expired", "token-not-yet-valid")
    # the reason is for logs; it never echoes the token
    assert not token or token not in caught.value.message


def test_a_token_whose_time_has_not_come_is_refused_unless_asked_early(keys: KeySet) -> None:
    early = FORGERIES["not yet valid (nbf)"](keys)
    with pytest.raises(TokenNotYetValid):
        verify(keys, early)
    claims = verify_room_token(keys, early, issuer=ISSUER, early=True)
    assert claims.not_before > now()
    # early does not excuse anything else: a token issued in the future is still refused
    with pytest.raises(TokenError) as caught:
        verify_room_token(
            keys, FORGERIES["issued in the future (iat)"](keys), issuer=ISSUER, early=True
        )
    assert caught.value.code == "token-invalid"


def test_expired_token_is_token_expired(keys: KeySet) -> None:
    with pytest.raises(TokenExpired):
        verify(keys, FORGERIES["expired"](keys))


def test_at_least_twenty_forgeries() -> None:
    assert len(FORGERIES) >= 20


def test_the_forgery_helpers_produce_tokens_that_would_otherwise_verify(keys: KeySet) -> None:
    """The refusals above are because of the forged part, not a broken helper."""
    assert verify(keys, sign(keys, claims())).participant_id == "p_1"
    assert verify(keys, _tamper_payload(sign(keys, claims()))).room == "r_1"


def test_another_issuer_configuration(keys: KeySet) -> None:
    token = sign(keys, claims(iss="gemeente-x"))
    assert verify_room_token(keys, token, issuer="gemeente-x").room == "r_1"
    with pytest.raises(TokenError):
        verify(keys, token)


# -- key sets ------------------------------------------------------------------------


def _token(keys: KeySet, pid: str = "p_1") -> str:
    return issue_room_token(
        keys, issuer=ISSUER, room="r_1", participant_id=pid, role=Role.RESIDENT, now=now(), ttl=600
    )


def test_keyset_json_round_trip() -> None:
    original = KeySet.generate().rotated()
    text = original.to_json()
    data = json.loads(text)
    assert data["active"] == original.active
    assert {k["kid"] for k in data["keys"]} == set(original.kids)
    assert all("private_pem" in k for k in data["keys"])
    loaded = KeySet.from_json(text)
    assert loaded.active == original.active and loaded.kids == original.kids
    assert verify(loaded, _token(original)).participant_id == "p_1"
    assert verify(original, _token(loaded)).participant_id == "p_1"
    assert KeySet.from_json(loaded.to_json()).to_json() == text


def test_rotation_keeps_old_tokens_valid() -> None:
    old = KeySet.generate()
    old_token = _token(old, "p_old")
    new = old.rotated()
    assert new.active != old.active
    assert new.kids == [*old.kids, new.active]
    assert verify(new, old_token).participant_id == "p_old"
    new_token = _token(new, "p_new")
    assert jwt.get_unverified_header(new_token)["kid"] == new.active
    assert verify(new, new_token).participant_id == "p_new"
    with pytest.raises(TokenError):
        verify(old, new_token)  # the old set does not know the new kid


def test_public_only_keys_verify_but_cannot_sign() -> None:
    signer = KeySet.generate()
    old_token = _token(signer, "p_old")
    public = signer.public_key(signer.active)
    assert public is not None
    fresh = Ed25519PrivateKey.generate()
    mixed = KeySet({signer.active: public, "k-new": fresh}, "k-new")
    assert verify(mixed, old_token).participant_id == "p_old"
    # a public key cannot be the signing key
    with pytest.raises(ValueError):
        KeySet({signer.active: public}, signer.active)
    # it survives the file round trip as a public key only
    data = json.loads(mixed.to_json())
    entry = next(k for k in data["keys"] if k["kid"] == signer.active)
    assert set(entry) == {"kid", "public_pem"}
    assert verify(KeySet.from_json(mixed.to_json()), old_token).participant_id == "p_old"
    # a file naming a public key as the active one is refused
    data["active"] = signer.active
    with pytest.raises(ValueError):
        KeySet.from_json(json.dumps(data))


def test_active_key_must_be_in_the_set() -> None:
    with pytest.raises(ValueError):
        KeySet({"a": Ed25519PrivateKey.generate()}, "b")


def _x25519_pem() -> str:
    return (
        X25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        '{"active": "a"}',
        '{"active": "a", "keys": 5}',
        '{"active": "a", "keys": ["x"]}',
        '{"active": "a", "keys": [{"kid": "a"}]}',
        '{"active": "a", "keys": [{"kid": "a", "private_pem": "not a pem"}]}',
        '{"active": "a", "keys": [{"kid": "a", "private_pem": 5}]}',
        '{"active": "a", "keys": [{"kid": "a", "public_pem": null}]}',
        json.dumps({"active": "a", "keys": [{"kid": "a", "private_pem": _x25519_pem()}]}),
    ],
    ids=lambda t: t[:50],
)
def test_malformed_key_file_is_a_value_error(text: str) -> None:
    """``from_json`` reports every malformed file as ValueError (server/core/secrets.py
    turns that into a ConfigError); any other exception escapes start-up."""
    with pytest.raises(ValueError):
        KeySet.from_json(text)
