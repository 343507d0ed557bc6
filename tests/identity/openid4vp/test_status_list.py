"""Token Status List: bits read the specified way, lists trusted like their credentials,
revoked or undeterminable status refused, lists cached until their ttl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import zlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import CredentialFormat, StatusReference, VerifiedCredential
from identity.openid4vp.fetch import AiohttpStatusListFetcher
from identity.openid4vp.pid import VCT_PID_NL
from identity.openid4vp.status_list import MAX_LIST_BYTES, StatusListChecker, read_status
from identity.openid4vp.trust import TrustAnchors
from tests.identity.openid4vp.support import (
    STATUS_URI,
    DictFetcher,
    Pki,
    assert_private,
    b64url,
    status_list_token,
)

#: entries 0-3: VALID, INVALID, SUSPENDED, VALID
STATUSES = [0, 1, 2, 0]


def _credential(pki: Pki, index: int, uri: str = STATUS_URI) -> VerifiedCredential:
    return VerifiedCredential(
        format=CredentialFormat.SD_JWT_VC,
        credential_type=VCT_PID_NL,
        claims={},
        signer=pki.leaf,
        status=StatusReference(uri, index),
    )


async def _check(
    checker: StatusListChecker, credential: VerifiedCredential, trust: TrustAnchors, now: float
) -> None:
    await checker.check(credential, trust=trust, rules=Rules(), now=now)


@pytest.mark.parametrize(
    ("data", "bits", "expected"),
    [
        # the Token Status List draft's own examples (§4.1)
        (bytes([0xB9, 0xA3]), 1, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),
        (bytes([0xC9, 0x44, 0xF9]), 2, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]),
        (bytes([0x21, 0x43]), 4, [1, 2, 3, 4]),
        (bytes([7, 255]), 8, [7, 255]),
    ],
)
def test_entries_are_read_least_significant_bit_first(
    data: bytes, bits: int, expected: list[int]
) -> None:
    assert [read_status(data, bits, i) for i in range(len(expected))] == expected


def test_an_index_past_the_list_is_undetermined() -> None:
    with pytest.raises(PresentationRefused) as refused:
        read_status(b"\x00", 2, 4)
    assert refused.value.reason is RefusalReason.STATUS_UNKNOWN


async def test_a_valid_entry_passes_and_the_list_is_cached_until_its_ttl(
    pki_nl: Pki, trust: TrustAnchors, fetcher: DictFetcher
) -> None:
    now = time.time()
    fetcher.bodies[STATUS_URI] = status_list_token(pki_nl, STATUSES, now=now)
    checker = StatusListChecker(fetcher)
    await _check(checker, _credential(pki_nl, 0), trust, now)
    await _check(checker, _credential(pki_nl, 3), trust, now + 10)
    assert fetcher.fetched == [STATUS_URI]
    await _check(checker, _credential(pki_nl, 0), trust, now + 301)  # ttl is 300
    assert fetcher.fetched == [STATUS_URI, STATUS_URI]


async def test_a_credential_without_status_needs_no_fetch(
    pki_nl: Pki, trust: TrustAnchors, fetcher: DictFetcher
) -> None:
    credential = dataclasses.replace(_credential(pki_nl, 0), status=None)
    await _check(StatusListChecker(fetcher), credential, trust, time.time())
    assert fetcher.fetched == []


def _bomb(pki: Pki) -> bytes:
    lst = b64url(zlib.compress(bytes(MAX_LIST_BYTES + 1)))
    return status_list_token(pki, [], status_list={"bits": 1, "lst": lst})


#: (name, index, body(pki_nl, pki_rogue) or None for a 404, check, reason)
REFUSED = [
    ("revoked", 1, lambda nl, rogue: status_list_token(nl, STATUSES), "status.revoked",
     RefusalReason.CREDENTIAL_REVOKED),
    ("suspended", 2, lambda nl, rogue: status_list_token(nl, STATUSES), "status.revoked",
     RefusalReason.CREDENTIAL_REVOKED),
    ("list with a bad signature", 0,
     lambda nl, rogue: status_list_token(nl, STATUSES, signing_key=rogue.jwk),
     "status.token.signature", RefusalReason.STATUS_UNKNOWN),
    ("list from an untrusted signer", 0, lambda nl, rogue: status_list_token(rogue, STATUSES),
     "status.token.chain", RefusalReason.STATUS_UNKNOWN),
    ("list for another URI", 0,
     lambda nl, rogue: status_list_token(nl, STATUSES, sub="https://status.test/other"),
     "status.token.sub", RefusalReason.STATUS_UNKNOWN),
    ("expired list", 0,
     lambda nl, rogue: status_list_token(nl, STATUSES, exp=int(time.time()) - 3600),
     "status.token.expired", RefusalReason.STATUS_UNKNOWN),
    ("list with 3-bit entries", 0, lambda nl, rogue: status_list_token(nl, STATUSES, bits=3),
     "status.token.list", RefusalReason.STATUS_UNKNOWN),
    ("decompression bomb", 0, lambda nl, rogue: _bomb(nl), "status.token.list",
     RefusalReason.STATUS_UNKNOWN),
    ("index past the list", 40, lambda nl, rogue: status_list_token(nl, STATUSES),
     "status.index", RefusalReason.STATUS_UNKNOWN),
    ("not a JWT", 0, lambda nl, rogue: b"\xff\xfe", "status.token",
     RefusalReason.STATUS_UNKNOWN),
    ("list not found", 0, None, "status.fetch", RefusalReason.STATUS_UNKNOWN),
]  # fmt: skip


@pytest.mark.parametrize(
    ("index", "body", "check", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
async def test_a_revoked_or_undeterminable_status_is_refused(
    pki_nl: Pki,
    pki_rogue: Pki,
    trust: TrustAnchors,
    fetcher: DictFetcher,
    index: int,
    body: object,
    check: str,
    reason: RefusalReason,
) -> None:
    if callable(body):
        fetcher.bodies[STATUS_URI] = body(pki_nl, pki_rogue)
    with pytest.raises(PresentationRefused) as refused:
        await _check(StatusListChecker(fetcher), _credential(pki_nl, index), trust, time.time())
    assert (refused.value.check, refused.value.reason) == (check, reason)
    assert_private(refused.value)


async def test_a_list_signed_by_another_subject_of_the_same_anchor_is_refused(
    pki_nl: Pki, trust: TrustAnchors, fetcher: DictFetcher
) -> None:
    # the credential claims to come from another leaf under the same root
    other_subject = dataclasses.replace(_credential(pki_nl, 0), signer=_sibling_leaf(pki_nl))
    fetcher.bodies[STATUS_URI] = status_list_token(pki_nl, STATUSES)
    with pytest.raises(PresentationRefused) as refused:
        await _check(StatusListChecker(fetcher), other_subject, trust, time.time())
    assert refused.value.check == "status.token.signer"


@pytest.mark.parametrize(
    "uri", ["https://127.0.0.1/list", "https://localhost/list", "https://[::1]/list"]
)
async def test_a_status_list_on_a_private_address_is_never_fetched(
    pki_nl: Pki, trust: TrustAnchors, uri: str
) -> None:
    fetcher = AiohttpStatusListFetcher()
    try:
        with pytest.raises(PresentationRefused) as refused:
            await _check(
                StatusListChecker(fetcher), _credential(pki_nl, 0, uri), trust, time.time()
            )
    finally:
        await fetcher.close()
    assert (refused.value.check, refused.value.reason) == (
        "status.fetch",
        RefusalReason.STATUS_UNKNOWN,
    )
    assert "address" in refused.value.detail


def _sibling_leaf(pki: Pki) -> x509.Certificate:
    """Another certificate under ``pki``'s root, with another subject."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sibling")]))
        .issuer_name(pki.root.subject)
        .public_key(pki.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(pki.root_key, hashes.SHA256())
    )
