"""Token Status List: is a credential revoked or suspended?

A credential names an entry (``status.status_list {idx, uri}``). The list is a
JWT (``typ: statuslist+jwt``) that we fetch through a
:class:`~identity.openid4vp.fetch.StatusListFetcher` (which enforces the SSRF
rules) and accept only when

- its signature checks out with an allow-listed algorithm and a key whose
  ``x5c`` chain leads to the anchors of the credential's own type, signed by
  the credential signer's subject (NL Wallet does the same); EUDI's verifier
  skips this signature check, which lets anyone who can answer the fetch
  un-revoke a PID;
- ``sub`` is the URI we fetched, ``exp`` (if any) has not passed;
- ``status_list {bits ∈ 1,2,4,8, lst}`` decompresses (zlib) within a size limit.

It is cached until its ``exp``, its ``ttl`` or an hour, whichever comes first.
Entry ``i`` is ``bits`` wide, read least-significant bit first (TSL §4.1). Only
0 (VALID) passes; 1 (INVALID), 2 (SUSPENDED) and anything else are refused, and
so is a status we cannot determine.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import FetchError, PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import StatusReference, VerifiedCredential
from identity.openid4vp.encoding import DecodeError, b64url_decode
from identity.openid4vp.fetch import StatusListFetcher
from identity.openid4vp.jws import integer_claim, unverified_parts, verify_signature
from identity.openid4vp.trust import TrustAnchors, certificates_from_x5c

TYP: Final = "statuslist+jwt"
VALID: Final = 0
BITS: Final = frozenset({1, 2, 4, 8})
#: a status list of a million 8-bit entries; more is a decompression bomb
MAX_LIST_BYTES: Final = 8 * 1024 * 1024
#: re-fetch at least this often, whatever ``exp``/``ttl`` say
MAX_CACHE_SECONDS: Final = 3600
MAX_CACHE_ENTRIES: Final = 256


@dataclass(frozen=True, slots=True)
class StatusList:
    """A verified status list: ``bits`` per entry over ``data``."""

    bits: int
    data: bytes = field(repr=False)
    #: RFC 4514 subject of the list's signer
    signer: str
    #: unix seconds until which it may be used from the cache
    valid_until: float

    def status(self, index: int) -> int:
        return read_status(self.data, self.bits, index)


def read_status(data: bytes, bits: int, index: int) -> int:
    """Entry ``index`` of ``bits`` width, least-significant bits first (TSL §4.1)."""
    if bits not in BITS:
        raise ValueError("bits must be 1, 2, 4 or 8")
    position = index * bits
    if index < 0 or position // 8 >= len(data):
        raise _unknown("status.index", "the index lies outside the list")
    return (data[position // 8] >> (position % 8)) & ((1 << bits) - 1)


def parse_status_list_token(
    token: str,
    *,
    uri: str,
    credential_type: str,
    trust: TrustAnchors,
    rules: Rules,
    now: float,
) -> StatusList:
    """Check a status list token fetched from ``uri`` for a credential of
    ``credential_type``; :class:`PresentationRefused` (``STATUS_UNKNOWN``) if it fails."""
    try:
        header, _ = unverified_parts(
            token, typ=(TYP,), algorithms=rules.algorithms, check="status.token"
        )
        chain = certificates_from_x5c(header.get("x5c"), check="status.token")
        signer = trust.verify(credential_type, chain, now=now, check="status.token")
        key = signer.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise _unknown("status.token.certificate", "the signer key is not an EC key")
        payload = verify_signature(token, key, str(header["alg"]), check="status.token")
        exp = integer_claim(payload, "exp", check="status.token.time")
        ttl = integer_claim(payload, "ttl", check="status.token.time")
    except PresentationRefused as exc:
        # a list we cannot trust leaves the status undetermined: refuse, but say why
        raise _unknown(exc.check, exc.detail) from None
    if payload.get("sub") != uri:
        raise _unknown("status.token.sub", "sub is not the URI we fetched")
    if integer_claim(payload, "iat", check="status.token.time") is None:
        raise _unknown("status.token.time", "the status list has no iat")
    if exp is not None and exp <= now - rules.leeway:
        raise _unknown("status.token.expired", "the status list has expired")
    valid_until = now + MAX_CACHE_SECONDS
    if exp is not None:
        valid_until = min(valid_until, exp)
    if ttl is not None and ttl > 0:
        valid_until = min(valid_until, now + ttl)
    bits, data = _list(payload.get("status_list"))
    return StatusList(
        bits=bits, data=data, signer=signer.subject.rfc4514_string(), valid_until=valid_until
    )


class StatusListChecker:
    """Checks credentials' status entries, with a cache of verified lists.

    :param fetcher: fetches a status list token (the SSRF rules live there)
    """

    def __init__(self, fetcher: StatusListFetcher, *, max_entries: int = MAX_CACHE_ENTRIES):
        self._fetcher = fetcher
        self._max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str], StatusList] = OrderedDict()

    async def check(
        self, credential: VerifiedCredential, *, trust: TrustAnchors, rules: Rules, now: float
    ) -> None:
        """Pass if ``credential`` has no status entry or its entry is VALID."""
        reference = credential.status
        if reference is None:
            return
        status_list = await self._list(reference, credential.credential_type, trust, rules, now)
        if rules.status_signer_same_subject and status_list.signer != credential.issuer:
            raise _unknown("status.token.signer", "the list is not signed by the issuer")
        value = status_list.status(reference.index)
        if value != VALID:
            raise PresentationRefused(
                RefusalReason.CREDENTIAL_REVOKED, "status.revoked", f"status value {value}"
            )

    def forget(self) -> None:
        """Drop every cached list (tests; key rotation at an issuer)."""
        self._cache.clear()

    async def _list(
        self,
        reference: StatusReference,
        credential_type: str,
        trust: TrustAnchors,
        rules: Rules,
        now: float,
    ) -> StatusList:
        key = (reference.uri, credential_type)
        cached = self._cache.get(key)
        if cached is not None and now < cached.valid_until:
            self._cache.move_to_end(key)
            return cached
        try:
            body = await self._fetcher.fetch(reference.uri)
        except FetchError as exc:
            raise _unknown("status.fetch", f"refused by rule {exc.rule}") from None
        try:
            token = body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise _unknown("status.token", "the status list is not a JWT") from None
        status_list = parse_status_list_token(
            token,
            uri=reference.uri,
            credential_type=credential_type,
            trust=trust,
            rules=rules,
            now=now,
        )
        self._cache[key] = status_list
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return status_list


def _list(value: object) -> tuple[int, bytes]:
    if not isinstance(value, dict):
        raise _unknown("status.token.list", "status_list is not an object")
    bits, lst = value.get("bits"), value.get("lst")
    if not isinstance(bits, int) or isinstance(bits, bool) or bits not in BITS:
        raise _unknown("status.token.list", "bits is not 1, 2, 4 or 8")
    if not isinstance(lst, str):
        raise _unknown("status.token.list", "lst is not a string")
    try:
        compressed = b64url_decode(lst)
    except DecodeError:
        raise _unknown("status.token.list", "lst is not base64url") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_LIST_BYTES)
    except zlib.error:
        raise _unknown("status.token.list", "lst is not zlib data") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise _unknown("status.token.list", "lst is too large or truncated")
    return bits, data


def _unknown(check: str, detail: str) -> PresentationRefused:
    return PresentationRefused(RefusalReason.STATUS_UNKNOWN, check, detail)
