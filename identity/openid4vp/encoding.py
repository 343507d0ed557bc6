"""Strict base64url and JSON at the edge: what every other module of the package parses with.

Wallet input is attacker-controlled, so the decoders refuse what lenient ones let
through: padding and non-alphabet characters in base64url (two spellings of one
value would give two digests), and duplicate member names in JSON (two parsers
could read two different claim values out of one signed object).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Final

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")


class DecodeError(ValueError):
    """Input that is not strict base64url or JSON; the message never echoes the input."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url (RFC 7515 §2) only."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise DecodeError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecodeError("not unpadded base64url") from None
    if b64url_encode(data) != text:  # non-zero trailing bits: a second spelling
        raise DecodeError("not canonical base64url")
    return data


def json_loads(data: str | bytes) -> object:
    """JSON with unique member names; refuses NaN and Infinity."""
    try:
        return json.loads(data, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DecodeError("not JSON (or a member name occurs twice)") from None


def sha256_b64url(text: str) -> str:
    """b64url(SHA-256(ASCII of ``text``)): SD-JWT digests and ``sd_hash`` (RFC 9901 §4.2.3)."""
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets (nonces, ids, codes)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate member name")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")
