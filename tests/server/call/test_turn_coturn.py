"""TURN credentials minted by Balie against a real coturn (use-auth-secret).

coturn is started on a free loopback port with a random static-auth-secret.
A credential from ``signaling.turn.turn_credentials`` must get a relay
allocation; a wrong secret, an expired credential or a username edited after
minting must get 401. There is no skip: without ``turnserver`` the test fails.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import stun, turn
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from signaling.turn import IceSettings, ice_servers_for, turn_credentials
from tests.coturn import Coturn

DEADLINE = 20.0


async def allocate(server: Coturn, username: str, password: str) -> tuple[str, int]:
    """Ask coturn for a UDP relay; the relayed address on success."""
    transport, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=("127.0.0.1", server.port),
            username=username,
            password=password,
            lifetime=60,
        ),
        timeout=DEADLINE,
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def refused_code(server: Coturn, username: str, password: str) -> int:
    with pytest.raises(stun.TransactionFailed) as caught:
        await allocate(server, username, password)
    code, _reason = caught.value.response.attributes["ERROR-CODE"]
    assert isinstance(code, int)
    return code


async def test_minted_credentials_get_a_relay(coturn: Coturn) -> None:
    username, password = turn_credentials(coturn.secret, "p_resident1", int(time.time()) + 600)
    host, port = await allocate(coturn, username, password)
    assert host == "127.0.0.1" and port > 0


async def test_ice_servers_entry_works_as_given(coturn: Coturn) -> None:
    """The very dict a browser receives in ``joined.ice_servers`` authenticates."""
    settings = IceSettings(
        turn_urls=(f"turn:127.0.0.1:{coturn.port}?transport=udp",),
        turn_secret=coturn.secret,
        turn_ttl=600,
    )
    (entry,) = ice_servers_for(settings, "p_specialist1", int(time.time()))
    host, _ = await allocate(coturn, entry["username"], entry["credential"])
    assert host == "127.0.0.1"


async def test_wrong_secret_is_rejected(coturn: Coturn) -> None:
    username, password = turn_credentials("not-" + coturn.secret, "p_1", int(time.time()) + 600)
    assert await refused_code(coturn, username, password) == 401


async def test_expired_credential_is_rejected(coturn: Coturn) -> None:
    username, password = turn_credentials(coturn.secret, "p_1", int(time.time()) - 60)
    assert await refused_code(coturn, username, password) == 401


async def test_username_edited_after_minting_is_rejected(coturn: Coturn) -> None:
    expiry = int(time.time()) + 600
    _, password = turn_credentials(coturn.secret, "p_1", expiry)
    for username in (f"{expiry}:p_2", f"{expiry + 86_400}:p_1"):
        assert await refused_code(coturn, username, password) == 401


async def test_aiortc_gets_a_relay_candidate_only_with_a_valid_credential(coturn: Coturn) -> None:
    url = f"turn:127.0.0.1:{coturn.port}?transport=udp"

    async def local_sdp(username: str, credential: str) -> str:
        config = RTCConfiguration(
            iceServers=[RTCIceServer(urls=url, username=username, credential=credential)]
        )
        pc = RTCPeerConnection(config)
        try:
            pc.createDataChannel("chat")
            await pc.setLocalDescription(await pc.createOffer())
            assert pc.localDescription is not None
            sdp: str = pc.localDescription.sdp
            return sdp
        finally:
            await pc.close()

    good = turn_credentials(coturn.secret, "p_aiortc", int(time.time()) + 600)
    sdp = await asyncio.wait_for(local_sdp(*good), timeout=DEADLINE)
    assert "typ relay" in sdp
    assert "raddr" in sdp and " 127.0.0.1 " in sdp

    bad = turn_credentials("wrong-secret", "p_aiortc", int(time.time()) + 600)
    sdp = await asyncio.wait_for(local_sdp(*bad), timeout=DEADLINE)
    assert "typ host" in sdp  # gathering itself worked
    assert "typ relay" not in sdp
