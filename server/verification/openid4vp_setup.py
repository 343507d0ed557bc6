"""The OpenID4VP verifier in the server: its settings from ``BALIE_OPENID4VP_*`` (read in
server/config.py), its transactions in the database, its status-list fetcher.

Off unless ``BALIE_OPENID4VP_CERTIFICATE_FILE`` is set (docs/identity.md): development and
demo mode run Yivi's emulator only. The wallet reaches ``{base}/oid4vp/request/…`` and
``{base}/oid4vp/response/…``; the same-device flow returns the browser to
``{base}/identiteit/wallet#response_code=…``, where ``{base}`` is
``BALIE_OPENID4VP_PUBLIC_URL`` or else ``BALIE_PUBLIC_URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import ConfigurationError
from identity.openid4vp import (
    AiohttpStatusListFetcher,
    ClientCertificate,
    OpenID4VPVerifier,
    ResponseMode,
    StatusListChecker,
    StatusListFetcher,
    TrustAnchors,
    VerifierSettings,
    certificates_from_pem,
)
from identity.vault import KeyRing
from server.config import Config, ConfigError
from server.verification.openid4vp_store import SqlTransactions
from server.verification.wallet_api import REQUEST_PATH, RESPONSE_PATH, RETURN_PATH

SETTINGS = web.AppKey("openid4vp_settings", VerifierSettings)
#: where the response code goes in the way back: the fragment, never sent to a server
RETURN_FRAGMENT: Final = "#response_code={response_code}"


def _read(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{variable}: {path}: {error.strerror}") from None


def verifier_settings(config: Config) -> VerifierSettings | None:
    """The verifier's settings, or None when it is not configured. Files that do not hold
    what they should stop the start with a :class:`ConfigError` naming the variable."""
    oid4vp = config.identity.openid4vp
    if oid4vp.certificate_file is None or oid4vp.key_file is None:
        return None
    base = config.openid4vp_url
    try:
        client = ClientCertificate.from_pem(
            _read(oid4vp.certificate_file, "BALIE_OPENID4VP_CERTIFICATE_FILE"),
            _read(oid4vp.key_file, "BALIE_OPENID4VP_KEY_FILE"),
        )
    except ConfigurationError as error:
        raise ConfigError(f"BALIE_OPENID4VP_CERTIFICATE_FILE/KEY_FILE: {error}") from None
    anchors: dict[str, list[object]] = {}
    try:
        for kind, path in oid4vp.trust_anchors:
            pem = _read(path, "BALIE_OPENID4VP_TRUST_ANCHORS")
            anchors.setdefault(kind, []).extend(certificates_from_pem(pem))
        trust = TrustAnchors(anchors)  # type: ignore[arg-type]
        return VerifierSettings(
            client=client,
            trust=trust,
            request_uri=base + REQUEST_PATH,
            response_uri=base + RESPONSE_PATH,
            same_device_redirect=base + RETURN_PATH + RETURN_FRAGMENT,
            wallet_url=oid4vp.wallet_url,
            response_mode=ResponseMode(oid4vp.response_mode),
            ttl=oid4vp.ttl,
            request_object_ttl=min(120, oid4vp.ttl),
        )
    except ConfigurationError as error:
        raise ConfigError(f"BALIE_OPENID4VP_*: {error}") from None


def real_status_fetcher() -> StatusListFetcher:
    """Status lists over the internet, with the SSRF rules (https, public addresses, size
    and time limits: identity/openid4vp/fetch.py)."""
    return AiohttpStatusListFetcher()


#: makes the status-list fetcher; tests replace it to serve their issuers' lists
status_fetcher: Callable[[], StatusListFetcher] = real_status_fetcher


def make_verifier(
    settings: VerifierSettings, engine: AsyncEngine, keys: KeyRing, fetcher: StatusListFetcher
) -> OpenID4VPVerifier:
    return OpenID4VPVerifier(
        settings, SqlTransactions(engine, keys), keys, StatusListChecker(fetcher)
    )


async def close_fetcher(fetcher: StatusListFetcher) -> None:
    close = getattr(fetcher, "close", None)
    if close is not None:
        await close()
