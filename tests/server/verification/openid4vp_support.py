"""A Balie with its OpenID4VP verifier switched on, and a scripted wallet that talks to it
over real HTTP.

The PKIs come from tests/identity/openid4vp/support.py: an NL PID issuer, an EU PID issuer
(also for the mdoc PID), a rogue issuer nobody trusts, and the municipality's access
certificate. The files go where an operator would put them and the server reads them from
``BALIE_OPENID4VP_*`` settings. Wallets reach Balie at ``https://balie.test`` (what the
request object says); the scripted wallet sends those requests to the test server instead,
as a reverse proxy would.

The wallet is libraries not written here: ``sd-jwt`` presents, ``jwcrypto`` encrypts,
``pyjwt`` checks the request object, ``cbor2``/``cwt`` build mdoc responses.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.openid4vp import AiohttpStatusListFetcher, StatusListFetcher
from identity.openid4vp.pid import DOCTYPE_PID, VCT_PID_EU, VCT_PID_NL
from server.config import Config, IdentitySettings, OpenID4VPSettings
from server.verification import openid4vp_setup
from tests.identity.openid4vp.support import (
    Pki,
    WalletRequest,
    checked_request_object,
    device_response,
    holder_key,
    issue,
    make_pki,
    nl_pid_claims,
    present,
    transcript,
)
from tests.support import LiveServer, config_for, live_server

#: where wallets reach the test Balie (the request object's URLs)
PUBLIC: Final = "https://balie.test"
#: what a resident shares from an NL PID for the demo purpose "bijstand" (BSN and name)
DISCLOSE: Final = {"given_name": True, "family_name": True, "bsn": True}


@dataclass
class Pkis:
    nl: Pki
    eu: Pki
    rogue: Pki
    client: Pki


def make_pkis() -> Pkis:
    return Pkis(
        make_pki("Test NL PID Issuer"),
        make_pki("Test EU PID Issuer"),
        make_pki("Test Rogue Issuer"),
        make_pki("Test Gemeente Balie"),
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def openid4vp_config(data_dir: Path, pkis: Pkis, **fields: Any) -> Config:
    """A test configuration with the verifier on, its files in ``data_dir``."""
    files = data_dir / "openid4vp"
    files.mkdir(parents=True, exist_ok=True)
    (files / "access.pem").write_bytes(_pem(pkis.client.leaf))
    (files / "access-key.pem").write_bytes(
        pkis.client.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (files / "nl-pid.pem").write_bytes(_pem(pkis.nl.root))
    (files / "eu-pid.pem").write_bytes(_pem(pkis.eu.root))
    settings = OpenID4VPSettings(
        certificate_file=files / "access.pem",
        key_file=files / "access-key.pem",
        trust_anchors=(
            (VCT_PID_NL, files / "nl-pid.pem"),
            (VCT_PID_EU, files / "eu-pid.pem"),
            (DOCTYPE_PID, files / "eu-pid.pem"),
        ),
        public_url=PUBLIC,
        **fields,
    )
    return config_for(data_dir, identity=IdentitySettings(openid4vp=settings))


@dataclass
class StatusLists:
    """The server's status-list fetcher in tests: the issuers' lists from ``bodies``; any
    other address goes to the real fetcher, whose SSRF rules refuse private addresses."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    real: AiohttpStatusListFetcher = field(default_factory=AiohttpStatusListFetcher)

    async def fetch(self, uri: str) -> bytes:
        if uri in self.bodies:
            return self.bodies[uri]
        return await self.real.fetch(uri)

    async def close(self) -> None:
        await self.real.close()


@asynccontextmanager
async def openid4vp_balie(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, pkis: Pkis, **fields: Any
) -> AsyncIterator[tuple[LiveServer, StatusLists]]:
    lists = StatusLists()

    def fetcher() -> StatusListFetcher:
        return lists

    monkeypatch.setattr(openid4vp_setup, "status_fetcher", fetcher)
    async with live_server(data_dir, config=openid4vp_config(data_dir, pkis, **fields)) as live:
        yield live, lists


class ScriptedWallet:
    """A phone's wallet app: fetches the request object and posts its answer over HTTP."""

    def __init__(self, live_url: str) -> None:
        self.live_url = live_url
        self.http = aiohttp.ClientSession()
        self.holder = holder_key()
        self.device = ec.generate_private_key(ec.SECP256R1())

    def local(self, url: str) -> str:
        """``url`` (on ``https://balie.test``) at the test server."""
        assert url.startswith(PUBLIC + "/"), url
        return self.live_url + url.removeprefix(PUBLIC)

    async def fetch(self, authorization_request: str) -> WalletRequest:
        link = urlsplit(authorization_request)
        query = {k: v[0] for k, v in parse_qs(link.query).items()}
        async with self.http.get(self.local(query["request_uri"])) as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "application/oauth-authz-req+jwt"
            jar = await response.text()
        claims = checked_request_object(jar, query["client_id"])
        return WalletRequest(query["request_uri"].rsplit("/", 1)[1], claims)

    async def refetch(self, request: WalletRequest) -> tuple[int, Any]:
        async with self.http.get(f"{self.live_url}/oid4vp/request/{request.request_id}") as r:
            return r.status, await r.json()

    async def answer(
        self, request: WalletRequest, form: Mapping[str, str], *, to: WalletRequest | None = None
    ) -> tuple[int, Any]:
        """Post ``form`` to ``request``'s response URI (or to ``to``'s)."""
        async with self.http.post(self.local((to or request).response_uri), data=form) as r:
            assert r.headers["Cache-Control"] == "no-store"
            return r.status, await r.json()

    def nl_pid(self, request: WalletRequest, pki: Pki, **claims: object) -> str:
        """An NL PID issued by ``pki`` and presented to ``request`` (the sd-jwt library)."""
        issuance = issue(pki, nl_pid_claims(time.time(), **claims), self.holder)
        return present(issuance, DISCLOSE, self.holder, nonce=request.nonce, aud=request.client_id)

    def nl_pid_form(self, request: WalletRequest, pki: Pki) -> dict[str, str]:
        """The wallet's answer to ``request`` as it posts it: an NL PID issued by ``pki``,
        encrypted to the request's key."""
        return request.encrypted({"pid_nl": [self.nl_pid(request, pki)]})

    def mdoc_pid(self, request: WalletRequest, pki: Pki, **knobs: Any) -> str:
        """An mdoc PID DeviceResponse over ``request``'s session transcript (cbor2, cwt)."""
        session = transcript(
            request.client_id, request.nonce, request.thumbprint, request.response_uri
        )
        return device_response(pki, self.device, session, **knobs)

    async def close(self) -> None:
        await self.http.close()


def vp_token(query_id: str, presentation: str) -> str:
    return json.dumps({query_id: [presentation]})
