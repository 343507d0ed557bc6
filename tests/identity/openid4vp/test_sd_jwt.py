"""SD-JWT VC presentations: the sd-jwt library issues and presents; we must accept its
good presentations and refuse each broken one for the right reason, without echoing
a personal value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sd_jwt.verifier import SDJWTVerifier  # type: ignore[import-untyped]

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import Expectation
from identity.openid4vp.pid import VCT_PID_EU, VCT_PID_NL
from identity.openid4vp.sd_jwt import verify_presentation
from identity.openid4vp.trust import TrustAnchors
from tests.identity.openid4vp.support import (
    BSN,
    CLIENT_ID,
    NONCE,
    Pki,
    SDObj,
    assert_private,
    b64url,
    eu_pid_claims,
    holder_key,
    issue,
    nl_pid_claims,
    present,
    rebind,
    sign_jws,
    strip_kb,
)

DISCLOSE_NL = {
    "given_name": True,
    "family_name": True,
    "bsn": True,
    "address": {"street_address": True, "locality": True},
}
NL = frozenset({VCT_PID_NL})


@dataclass
class Ctx:
    nl: Pki
    eu: Pki
    rogue: Pki
    holder: Any
    now: float

    def issuance(self, pki: Pki | None = None, **plain: object) -> str:
        return issue(pki or self.nl, nl_pid_claims(self.now, **plain), self.holder)

    def good(self) -> str:
        return present(self.issuance(), DISCLOSE_NL, self.holder)


def _parts(presentation: str) -> list[str]:
    return presentation.split("~")


def _payload(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return data


def _header(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return data


def _resign(ctx: Ctx, change: Callable[[dict[str, Any]], None], *, header: Any = None) -> str:
    """The good presentation with its issuer JWT payload changed and re-signed by the
    real issuer key (so only the change is wrong), and a fresh KB-JWT."""
    parts = _parts(ctx.good())
    payload = _payload(parts[0])
    change(payload)
    parts[0] = sign_jws(ctx.nl.jwk, payload, header or _header(parts[0]))
    return rebind("~".join(parts[:-1]) + "~", ctx.holder)


def _with_disclosure(ctx: Ctx, disclosure: list[object]) -> str:
    """The good presentation plus ``disclosure``, its digest signed into ``_sd``."""
    encoded = b64url(json.dumps(disclosure).encode())
    digest = b64url(hashlib.sha256(encoded.encode()).digest())
    parts = _parts(_resign(ctx, lambda payload: payload["_sd"].append(digest)))
    return rebind("~".join([*parts[:-1], encoded]) + "~", ctx.holder)


def _alg_none(ctx: Ctx) -> str:
    parts = _parts(ctx.good())
    header = {**_header(parts[0]), "alg": "none"}
    body = parts[0].split(".")[1]
    parts[0] = f"{b64url(json.dumps(header).encode())}.{body}."
    return rebind("~".join(parts[:-1]) + "~", ctx.holder)


def _hs256_with_public_key(ctx: Ctx) -> str:
    parts = _parts(ctx.good())
    secret = ctx.nl.leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {**_header(parts[0]), "alg": "HS256"}
    body = parts[0].split(".")[1]
    signing_input = f"{b64url(json.dumps(header).encode())}.{body}"
    mac = hmac.new(secret, signing_input.encode(), "sha256").digest()
    parts[0] = f"{signing_input}.{b64url(mac)}"
    return rebind("~".join(parts[:-1]) + "~", ctx.holder)


def _forged_signature(ctx: Ctx) -> str:
    parts = _parts(ctx.good())
    parts[0] = sign_jws(ctx.rogue.jwk, _payload(parts[0]), _header(parts[0]))
    return rebind("~".join(parts[:-1]) + "~", ctx.holder)


def _tampered_disclosure(ctx: Ctx) -> str:
    parts = _parts(ctx.good())
    for i, disclosure in enumerate(parts[1:-1], start=1):
        decoded = json.loads(base64.urlsafe_b64decode(disclosure + "=="))
        if decoded[1] == "bsn":
            parts[i] = b64url(json.dumps([decoded[0], "bsn", "111222333"]).encode())
    return rebind("~".join(parts[:-1]) + "~", ctx.holder)


def _duplicated_disclosure(ctx: Ctx) -> str:
    parts = _parts(ctx.good())
    return rebind("~".join([*parts[:-1], parts[1]]) + "~", ctx.holder)


def _foreign_disclosure(ctx: Ctx) -> str:
    other = _parts(present(ctx.issuance(), DISCLOSE_NL, ctx.holder))
    parts = _parts(ctx.good())
    return rebind("~".join([*parts[:-1], other[1]]) + "~", ctx.holder)


def _removed_after_binding(ctx: Ctx) -> str:
    """The good presentation minus its ``given_name`` disclosure, KB-JWT unchanged."""
    parts = _parts(ctx.good())
    kept = [
        p
        for p in parts[1:-1]
        if json.loads(base64.urlsafe_b64decode(p + "=="))[1:2] != ["given_name"]
    ]
    assert len(kept) == len(parts) - 3
    return "~".join([parts[0], *kept, parts[-1]])


def _with_header(**extra: object) -> Callable[[Ctx], str]:
    def build(ctx: Ctx) -> str:
        return present(
            issue(ctx.nl, nl_pid_claims(ctx.now), ctx.holder, header=extra), {}, ctx.holder
        )

    return build


def _plain(**claims: object) -> Callable[[Ctx], str]:
    """The good presentation of a credential with ``claims`` in the clear."""
    return lambda ctx: present(ctx.issuance(None, **claims), DISCLOSE_NL, ctx.holder)


def _drop(*names: str) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        for name in names:
            payload.pop(name, None)

    return change


def _set(**claims: object) -> Callable[[dict[str, Any]], None]:
    return lambda payload: payload.update(claims)


def _private_cnf(ctx: Ctx) -> str:
    private = dict(ctx.holder.export(private_key=True, as_dict=True))
    return _resign(ctx, _set(cnf={"jwk": private}))


def _disclosed_exp(ctx: Ctx) -> str:
    claims = nl_pid_claims(ctx.now)
    claims[SDObj("exp")] = claims.pop("exp")
    return present(issue(ctx.nl, claims, ctx.holder), {**DISCLOSE_NL, "exp": True}, ctx.holder)


def _duplicate_digest(ctx: Ctx) -> str:
    return _resign(ctx, lambda p: p["_sd"].append(p["_sd"][0]))


def _rebound(**fields: Any) -> Callable[[Ctx], str]:
    """The good presentation with a KB-JWT whose ``fields`` differ."""
    return lambda ctx: rebind(strip_kb(ctx.good()), ctx.holder, **fields)


def _kb_by_other_key(ctx: Ctx) -> str:
    return rebind(strip_kb(ctx.good()), holder_key())


#: (name, build, check, reason)
REFUSED: list[tuple[str, Callable[[Ctx], str], str, RefusalReason]] = [
    ("forged issuer signature", _forged_signature, "sd-jwt.issuer.signature",
     RefusalReason.PRESENTATION_INVALID),
    ("untrusted issuer chain", lambda c: present(c.issuance(c.rogue), DISCLOSE_NL, c.holder),
     "sd-jwt.issuer.chain", RefusalReason.WALLET_ISSUER_UNTRUSTED),
    ("issuer trusted for another type", lambda c: present(c.issuance(c.eu), DISCLOSE_NL, c.holder),
     "sd-jwt.issuer.chain", RefusalReason.WALLET_ISSUER_UNTRUSTED),
    ("alg none", _alg_none, "sd-jwt.issuer.alg", RefusalReason.PRESENTATION_INVALID),
    ("HS256 keyed with the public key", _hs256_with_public_key, "sd-jwt.issuer.alg",
     RefusalReason.PRESENTATION_INVALID),
    ("wrong typ", _with_header(typ="JWT"), "sd-jwt.issuer.typ",
     RefusalReason.PRESENTATION_INVALID),
    ("legacy typ without the rule", _with_header(typ="vc+sd-jwt"), "sd-jwt.issuer.typ",
     RefusalReason.PRESENTATION_INVALID),
    ("key in a jwk header", _with_header(jwk={"kty": "EC"}), "sd-jwt.issuer",
     RefusalReason.PRESENTATION_INVALID),
    ("key by jku", _with_header(jku="https://evil.test/jwks"), "sd-jwt.issuer",
     RefusalReason.PRESENTATION_INVALID),
    ("critical extension", _with_header(crit=["b64"], b64=True), "sd-jwt.issuer",
     RefusalReason.PRESENTATION_INVALID),
    ("no x5c", lambda c: _resign(c, _drop(), header={"alg": "ES256", "typ": "dc+sd-jwt"}),
     "sd-jwt.issuer.certificate", RefusalReason.PRESENTATION_INVALID),
    ("expired credential", _plain(exp=int(time.time()) - 3600), "sd-jwt.expired",
     RefusalReason.WALLET_CREDENTIAL_EXPIRED),
    ("not yet valid", _plain(nbf=int(time.time()) + 3600), "sd-jwt.not-yet-valid",
     RefusalReason.WALLET_CREDENTIAL_EXPIRED),
    ("issued in the future", _plain(iat=int(time.time()) + 3600), "sd-jwt.not-yet-valid",
     RefusalReason.WALLET_CREDENTIAL_EXPIRED),
    ("no exp", lambda c: _resign(c, _drop("exp")), "sd-jwt.time",
     RefusalReason.PRESENTATION_INVALID),
    ("another vct", _plain(vct="urn:test:other:1"), "sd-jwt.vct",
     RefusalReason.UNMATCHED_REQUEST),
    ("no vct", lambda c: _resign(c, _drop("vct")), "sd-jwt.vct",
     RefusalReason.UNMATCHED_REQUEST),
    ("sha-512 _sd_alg", lambda c: _resign(c, _set(_sd_alg="sha-512")), "sd-jwt.sd-alg",
     RefusalReason.PRESENTATION_INVALID),
    ("tampered disclosure (digest mismatch)", _tampered_disclosure,
     "sd-jwt.disclosure.unreferenced", RefusalReason.PRESENTATION_INVALID),
    ("duplicated disclosure", _duplicated_disclosure, "sd-jwt.disclosure.duplicate",
     RefusalReason.PRESENTATION_INVALID),
    ("unreferenced foreign disclosure", _foreign_disclosure, "sd-jwt.disclosure.unreferenced",
     RefusalReason.PRESENTATION_INVALID),
    ("duplicate digest", _duplicate_digest, "sd-jwt.digest.duplicate",
     RefusalReason.PRESENTATION_INVALID),
    ("disclosure overrides a plain claim",
     lambda c: _with_disclosure(c, ["salt-salt-salt", "iss", "https://evil.test"]),
     "sd-jwt.disclosure.name", RefusalReason.PRESENTATION_INVALID),
    ("disclosure named _sd", lambda c: _with_disclosure(c, ["salt-salt-salt", "_sd", []]),
     "sd-jwt.disclosure.name", RefusalReason.PRESENTATION_INVALID),
    ("array disclosure in an object", lambda c: _with_disclosure(c, ["salt-salt-salt", "x"]),
     "sd-jwt.disclosure", RefusalReason.PRESENTATION_INVALID),
    ("exp hidden in a disclosure", _disclosed_exp, "sd-jwt.registered-claim",
     RefusalReason.PRESENTATION_INVALID),
    ("no cnf", lambda c: _resign(c, _drop("cnf")), "sd-jwt.cnf",
     RefusalReason.PRESENTATION_INVALID),
    ("private key in cnf", _private_cnf, "sd-jwt.cnf", RefusalReason.PRESENTATION_INVALID),
    ("key binding stripped", lambda c: strip_kb(c.good()), "sd-jwt.kb.missing",
     RefusalReason.PRESENTATION_INVALID),
    ("key binding by another key", _kb_by_other_key, "sd-jwt.kb.signature",
     RefusalReason.PRESENTATION_INVALID),
    ("key binding with wrong typ", _rebound(typ="JWT"), "sd-jwt.kb.typ",
     RefusalReason.PRESENTATION_INVALID),
    ("wrong nonce", lambda c: present(c.issuance(), DISCLOSE_NL, c.holder, nonce="other-nonce"),
     "sd-jwt.kb.nonce", RefusalReason.SESSION_MISMATCH),
    ("another verifier's audience",
     lambda c: present(c.issuance(), DISCLOSE_NL, c.holder, aud="x509_hash:other-client"),
     "sd-jwt.kb.aud", RefusalReason.SESSION_MISMATCH),
    ("audience without the client id prefix", _rebound(aud="test-client"), "sd-jwt.kb.aud",
     RefusalReason.SESSION_MISMATCH),
    ("audience as an array", _rebound(aud=[CLIENT_ID]), "sd-jwt.kb.aud",
     RefusalReason.SESSION_MISMATCH),
    ("stale key binding iat", _rebound(iat=int(time.time()) - 3600), "sd-jwt.kb.iat",
     RefusalReason.RESULT_EXPIRED),
    ("key binding iat in the future", _rebound(iat=int(time.time()) + 3600), "sd-jwt.kb.iat",
     RefusalReason.RESULT_EXPIRED),
    ("wrong sd_hash", _rebound(hash_override=b64url(b"\0" * 32)), "sd-jwt.kb.sd-hash",
     RefusalReason.PRESENTATION_INVALID),
    ("disclosure removed after binding", _removed_after_binding, "sd-jwt.kb.sd-hash",
     RefusalReason.PRESENTATION_INVALID),
    ("unreadable status reference",
     _plain(status={"status_list": {"idx": -1, "uri": "https://status.test/1"}}),
     "sd-jwt.status", RefusalReason.PRESENTATION_INVALID),
]  # fmt: skip


@pytest.fixture
def ctx(pki_nl: Pki, pki_eu: Pki, pki_rogue: Pki) -> Ctx:
    return Ctx(pki_nl, pki_eu, pki_rogue, holder_key(), time.time())


def _verify(
    presentation: str,
    trust: TrustAnchors,
    expectation: Expectation,
    *,
    types: frozenset[str] = NL,
    rules: Rules | None = None,
) -> Any:
    return verify_presentation(
        presentation,
        accepted_types=types,
        trust=trust,
        expectation=expectation,
        rules=rules or Rules(),
    )


def test_a_library_presentation_passes_and_matches_the_librarys_own_reading(
    ctx: Ctx, trust: TrustAnchors, expectation: Expectation
) -> None:
    presentation = ctx.good()
    credential = _verify(presentation, trust, expectation)
    assert credential.credential_type == VCT_PID_NL
    assert credential.claims["bsn"] == BSN
    assert credential.claims["address"] == {"street_address": "Teststraat", "locality": "Teststad"}
    assert "birthdate" not in credential.claims  # not disclosed
    assert credential.issuer == ctx.nl.leaf.subject.rfc4514_string()
    reference = SDJWTVerifier(
        presentation,
        lambda issuer, header: ctx.nl.jwk,
        expected_aud=CLIENT_ID,
        expected_nonce=NONCE,
    ).get_verified_payload()
    assert dict(credential.claims) == reference
    assert_private(credential)


def test_array_recursive_disclosures_and_decoys_pass(
    ctx: Ctx, trust: TrustAnchors, expectation: Expectation
) -> None:
    from sd_jwt.issuer import SDJWTIssuer  # type: ignore[import-untyped]

    issuer = SDJWTIssuer(
        eu_pid_claims(ctx.now),
        ctx.eu.jwk,
        holder_key=ctx.holder,
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "x5c": ctx.eu.x5c},
    )
    disclose = {"nationalities": [True], "age_equal_or_over": {"18": True}, "given_name": True}
    presentation = present(str(issuer.sd_jwt_issuance), disclose, ctx.holder)
    credential = _verify(presentation, trust, expectation, types=frozenset({VCT_PID_EU}))
    assert credential.claims["nationalities"] == ["NL"]
    assert credential.claims["age_equal_or_over"] == {"18": True}
    assert "personal_administrative_number" not in credential.claims


def test_the_legacy_typ_passes_only_when_the_rules_allow_it(
    ctx: Ctx, trust: TrustAnchors, expectation: Expectation
) -> None:
    presentation = _with_header(typ="vc+sd-jwt")(ctx)
    rules = replace(Rules(), sd_jwt_typ=frozenset({"dc+sd-jwt", "vc+sd-jwt"}))
    assert _verify(presentation, trust, expectation, rules=rules).credential_type == VCT_PID_NL


def test_a_stale_key_binding_made_by_the_library_is_refused(
    ctx: Ctx, trust: TrustAnchors, expectation: Expectation, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sd_jwt.holder  # type: ignore[import-untyped]

    monkeypatch.setattr(sd_jwt.holder, "time", lambda: time.time() - 3600)
    with pytest.raises(PresentationRefused) as refused:
        _verify(ctx.good(), trust, expectation)
    assert refused.value.check == "sd-jwt.kb.iat"


@pytest.mark.parametrize(
    ("build", "check", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_broken_presentation_is_refused_for_its_reason(
    ctx: Ctx,
    trust: TrustAnchors,
    expectation: Expectation,
    build: Callable[[Ctx], str],
    check: str,
    reason: RefusalReason,
) -> None:
    presentation = build(ctx)
    with pytest.raises(PresentationRefused) as refused:
        _verify(presentation, trust, expectation)
    assert (refused.value.check, refused.value.reason) == (check, reason)
    assert_private(refused.value)


def test_pyjwt_agrees_the_library_signs_what_we_read(ctx: Ctx) -> None:
    issuer_jwt = ctx.good().split("~")[0]
    claims = jwt.decode(issuer_jwt, ctx.nl.leaf.public_key(), algorithms=["ES256"])  # type: ignore[arg-type]
    assert claims["vct"] == VCT_PID_NL
