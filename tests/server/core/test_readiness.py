"""/readyz on one node (server/core/health.py): ready with every part named, unready while
the node stops (draining) or while the identity verifier does not answer. The database and
Redis away: tests/server/db/test_partition.py and tests/server/call/test_cluster.py."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator import EmulatorSettings, create_emulator_app
from identity.emulator.settings import TokenAuth
from server.call.appkeys import HUB
from server.config import IdentitySettings, IrmaSettings
from tests.support import config_for, free_port, live_server


async def _ready(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(url + "/readyz") as response:
        assert response.headers["Cache-Control"] == "no-store"
        return response.status, await response.json()


async def test_a_node_is_ready_with_every_part_named_and_unready_while_draining(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server, aiohttp.ClientSession() as http:
        status, body = await _ready(http, server.url)
        assert status == 200
        assert body == {
            "status": "ready",
            "checks": {"database": "ok", "signalling": "ok", "verifier": "ok"},
        }
        server.app[HUB].stopping = True  # what stopping sets before its sockets go
        status, body = await _ready(http, server.url)
        assert status == 503
        assert body["checks"] == {"database": "ok", "signalling": "draining", "verifier": "ok"}
        server.app[HUB].stopping = False


async def test_a_verifier_that_does_not_answer_makes_the_node_unready(tmp_path: Path) -> None:
    """Balie on an IRMA server of its own (the emulator run apart, as a real irma server
    runs): ready while it answers, unready once it is gone, since residents could not show
    who they are."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "irma-public.pem"
    key_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    port = free_port()
    irma_url = f"http://127.0.0.1:{port}"
    emulator = create_emulator_app(
        EmulatorSettings(
            public_url=irma_url,
            requestor_auth=TokenAuth("test-requestor-token"),
            jwt_private_key=key,
        )
    )
    runner = web.AppRunner(emulator)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    irma = IrmaSettings(url=irma_url, token="test-requestor-token", result_key_file=key_file)
    config = config_for(tmp_path, identity=IdentitySettings(irma=irma))
    try:
        async with live_server(tmp_path, config=config) as server, aiohttp.ClientSession() as http:
            status, body = await _ready(http, server.url)
            assert status == 200, body
            await runner.cleanup()
            status, body = await _ready(http, server.url)
    finally:
        await runner.cleanup()
    assert status == 503
    assert body["checks"] == {
        "database": "ok",
        "signalling": "ok",
        "verifier": "irma server GET health: ClientConnectorError",
    }
