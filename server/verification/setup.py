"""Build the identity gate from the configuration: a real irma server, or the emulator.

In development without ``BALIE_IRMA_URL`` the IRMA emulator runs inside Balie under
``/irma-emulator`` (with its demo wallet page), and Balie talks to it over HTTP exactly
as it would to a real server: the requestor code path is the same in both shapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import EmulatorSettings, create_emulator_app
from identity.emulator.settings import TokenAuth as EmulatorTokenAuth
from identity.errors import ConfigurationError
from identity.irma import IrmaSettings, IrmaVerifier, TokenAuth
from identity.irma_result import load_result_key
from identity.sessions import MemoryVerifications
from identity.vault import KeyRing, new_key_config_entry
from server.call.ws import HUB
from server.config import Config, ConfigError
from server.core.appkeys import CONFIG
from server.db.appkeys import ENGINE
from server.verification.appkeys import GATE
from server.verification.gate import IdentityGate
from server.verification.vault_store import SqlVault

log = logging.getLogger("balie.identity")

EMULATOR_PREFIX: Final = "/irma-emulator"
#: how often expired vault entries and abandoned verifications are deleted
SWEEP_INTERVAL: Final = 60.0

_EMULATOR_KEY = web.AppKey("emulator_key", rsa.RSAPrivateKey)
_EMULATOR_TOKEN = web.AppKey("emulator_token", str)
_VAULT_KEYS = web.AppKey("vault_keys", KeyRing)


def setup_identity(app: web.Application, config: Config) -> None:
    """Read the identity settings now, so a bad key fails start-up, not the first call."""
    app[_VAULT_KEYS] = vault_keys(config)
    if config.emulate_irma:
        mount_emulator(app, config)
    app.cleanup_ctx.append(identity_context)


def mount_emulator(app: web.Application, config: Config) -> None:
    """Serve the IRMA emulator and its demo wallet page (development only)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = secrets.token_urlsafe(24)
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


def vault_keys(config: Config) -> KeyRing:
    """The configured key ring; in development a key file is made on first use."""
    text = config.identity.vault_keys
    if not text:
        path: Path = config.data_dir / "vault-keys.txt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(new_key_config_entry("dev1") + "\n")
        text = path.read_text().strip()
    try:
        return KeyRing.from_config(text)
    except (ValueError, ConfigurationError) as error:
        raise ConfigError(f"BALIE_VAULT_KEYS: {error}") from None


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
    try:
        key = load_result_key(irma.result_key_file.read_bytes())
    except (OSError, ValueError) as error:
        raise ConfigError(f"BALIE_IRMA_RESULT_KEY_FILE: {error}") from None
    return IrmaSettings(
        url=irma.url, auth=TokenAuth(irma.token), result_key=key, issuer=irma.issuer, demo=demo
    )


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the verifier's HTTP client, the gate, and the vault sweeper."""
    config = app[CONFIG]
    async with aiohttp.ClientSession() as http:
        app[GATE] = IdentityGate(
            verifier=IrmaVerifier(http, _irma_settings(app, config)),
            verifications=MemoryVerifications(),
            vault=SqlVault(app[ENGINE]),
            keys=app[_VAULT_KEYS],
            engine=app[ENGINE],
            demo_wallet_url=EMULATOR_PREFIX + "/wallet" if config.emulate_irma else None,
        )
        gate = app[GATE]
        hub = app[HUB]
        hub.admission = gate.admits

        async def room_closed(room_id: str) -> None:
            try:
                await gate.call_ended(room_id)
            except Exception:
                # the sweeper still deletes the values at their safety-net deadline
                log.exception("deleting the values of a closed room failed")

        hub.on_room_closed = room_closed
        task = asyncio.get_running_loop().create_task(_sweep(gate))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _sweep(gate: IdentityGate) -> None:
    while True:
        await asyncio.sleep(SWEEP_INTERVAL)
        try:
            deleted = await gate.sweep()
        except Exception:
            log.exception("sweeping the vault failed")
        else:
            if deleted:
                log.info("deleted %d vault entries past their retention", deleted)
