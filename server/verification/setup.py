"""Verification: the identity gate in front of a call, from a real irma server or the emulator.

In development without ``BALIE_IRMA_URL`` the IRMA emulator runs inside Balie under
``/irma-emulator`` (with its demo wallet page), and Balie talks to it over HTTP exactly
as it would to a real server: the requestor code path is the same in both shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import EmulatorSettings, create_emulator_app
from identity.emulator.settings import TokenAuth as EmulatorTokenAuth
from identity.errors import VerifierUnavailable
from identity.irma import IrmaSettings, IrmaVerifier, TokenAuth
from identity.irma_result import load_result_key
from identity.openid4vp import OpenID4VPVerifier, StatusListFetcher
from server.call.hub import Admission
from server.config import Config, ConfigError
from server.core.appkeys import CONFIG, VAULT_KEYS
from server.core.health import add_readiness_check
from server.core.secrets import write_secret
from server.core.tasks import periodic
from server.db.appkeys import ENGINE
from server.verification import api, openid4vp_setup, wallet_api
from server.verification.appkeys import GATE
from server.verification.gate import IdentityGate
from server.verification.metrics import setup_metrics
from server.verification.vault_store import SqlVault
from server.verification.verification_store import SqlVerifications
from server.verification.wallet_api import OPENID4VP
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.identity")

EMULATOR_PREFIX: Final = "/irma-emulator"
#: the emulator's key in the data directory (development only)
EMULATOR_KEY_FILE: Final = "irma-emulator-key.pem"
#: how often expired vault entries and abandoned verifications are deleted
SWEEP_INTERVAL: Final = 60.0

_EMULATOR_KEY = web.AppKey("emulator_key", rsa.RSAPrivateKey)
_EMULATOR_TOKEN = web.AppKey("emulator_token", str)
IRMA = web.AppKey("irma_verifier", IrmaVerifier)


def setup(app: web.Application) -> None:
    """Routes, the emulator in development, the gate (after the database) and its sweeper."""
    config = app[CONFIG]
    if config.emulate_irma:
        mount_emulator(app, config)
    settings = openid4vp_setup.verifier_settings(config)
    if settings is not None:
        app[openid4vp_setup.SETTINGS] = settings
    api.add_routes(app)
    wallet_api.add_routes(app)
    setup_metrics(app)
    app.cleanup_ctx.append(identity_context)
    add_readiness_check(app, "verifier", lambda: _verifier_answers(app))
    app.cleanup_ctx.append(periodic(SWEEP_INTERVAL, _sweep, what="sweeping the vault"))


def admission(app: web.Application) -> Admission:
    """The hub's question "may this seat enter?", answered by this application's gate."""

    async def admits(claims: RoomClaims, browser: str | None) -> bool:
        return await app[GATE].admits(claims, browser)

    return admits


def on_room_closed(app: web.Application) -> Callable[[str], Coroutine[Any, Any, None]]:
    """What the hub calls when a room ends or empties: delete its verified values."""

    async def closed(room_id: str) -> None:
        try:
            await app[GATE].call_ended(room_id)
        except Exception:
            # the sweeper still deletes the values at their safety-net deadline
            log.exception("deleting the values of a closed room failed")

    return closed


def mount_emulator(app: web.Application, config: Config) -> None:
    """Serve the IRMA emulator and its demo wallet page (development only)."""
    key = emulator_key(config)
    token = emulator_token(key)
    emulator = create_emulator_app(
        EmulatorSettings(
            public_url=config.public_url + EMULATOR_PREFIX,
            requestor_auth=EmulatorTokenAuth(token),
            production=config.production,
            jwt_private_key=key,
        )
    )
    app.add_subapp(EMULATOR_PREFIX, emulator)
    app[_EMULATOR_KEY] = key
    app[_EMULATOR_TOKEN] = token


def emulator_key(config: Config) -> rsa.RSAPrivateKey:
    """The emulator's result-signing key, kept in the data directory: development nodes that
    share it (two nodes behind one proxy that sends ``/irma-emulator`` to one of them) then
    trust the same emulator, whichever node asks."""
    path = config.data_dir / EMULATOR_KEY_FILE
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_secret(path, pem.decode())
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ConfigError(f"{path}: not an RSA private key; delete it to make a new one")
    return loaded


def emulator_token(key: rsa.RSAPrivateKey) -> str:
    """The requestor token, derived from the key: one file, and nothing that can disagree."""
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.urlsafe_b64encode(
        hmac.new(der, b"balie/irma-emulator/token", hashlib.sha256).digest()
    ).decode()


def _irma_settings(app: web.Application, config: Config) -> IrmaSettings:
    demo = config.identity.demo_mode
    if config.emulate_irma:
        return IrmaSettings(
            url=config.public_url + EMULATOR_PREFIX,
            auth=TokenAuth(app[_EMULATOR_TOKEN]),
            result_key=app[_EMULATOR_KEY].public_key(),
            demo=demo,
        )
    irma = config.identity.irma
    assert irma.result_key_file is not None  # required in production; checked in Config
    key = pinned_result_key(irma.result_key_file)
    return IrmaSettings(
        url=irma.url, auth=TokenAuth(irma.token), result_key=key, issuer=irma.issuer, demo=demo
    )


def pinned_result_key(path: Path) -> rsa.RSAPublicKey:
    """The irma server's result-JWT key from ``BALIE_IRMA_RESULT_KEY_FILE`` (also read by
    ``balie check``)."""
    try:
        return load_result_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ConfigError(f"BALIE_IRMA_RESULT_KEY_FILE: {error}") from None


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the verifier's HTTP client and the gate."""
    config = app[CONFIG]
    openid4vp: OpenID4VPVerifier | None = None
    fetcher: StatusListFetcher | None = None
    if openid4vp_setup.SETTINGS in app:
        fetcher = openid4vp_setup.status_fetcher()
        openid4vp = openid4vp_setup.make_verifier(
            app[openid4vp_setup.SETTINGS], app[ENGINE], app[VAULT_KEYS], fetcher
        )
        app[OPENID4VP] = openid4vp
    async with aiohttp.ClientSession() as http:
        app[IRMA] = IrmaVerifier(http, _irma_settings(app, config))
        app[GATE] = IdentityGate(
            verifier=app[IRMA],
            # in the database: consumed once across nodes, and kept through a restart
            verifications=SqlVerifications(app[ENGINE], app[VAULT_KEYS]),
            vault=SqlVault(app[ENGINE]),
            keys=app[VAULT_KEYS],
            engine=app[ENGINE],
            demo_wallet_url=EMULATOR_PREFIX + "/wallet" if config.emulate_irma else None,
            openid4vp=openid4vp,
        )
        try:
            yield
        finally:
            if fetcher is not None:
                await openid4vp_setup.close_fetcher(fetcher)


async def _verifier_answers(app: web.Application) -> str | None:
    """Ready when the irma server answers (``/readyz``)."""
    if IRMA not in app:
        return "not started yet"
    try:
        await app[IRMA].check_health()
    except VerifierUnavailable as error:
        return str(error)
    return None


async def _sweep(app: web.Application) -> None:
    if OPENID4VP in app:
        await app[OPENID4VP].purge()
    deleted = await app[GATE].sweep()
    if deleted:
        log.info("deleted %d vault entries past their retention", deleted)
