"""TURN credentials minted by Balie against a real coturn (use-auth-secret).

coturn is started on a free loopback port with a random static-auth-secret.
A credential from ``signaling.turn.turn_credentials`` must get a relay
allocation; a wrong secret, an expired credential or a username edited after
minting must get 401. There is no skip: without ``turnserver`` the test fails.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioice import stun, turn
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from signaling.turn import IceSettings, ice_servers_for, turn_credentials

TURNSERVER = "/usr/bin/turnserver"
REALM = "balie.test"
DEADLINE = 20.0


@dataclass
class Coturn:
    port: int
    secret: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def turnserver_binary() -> str:
    found = shutil.which("turnserver") or (TURNSERVER if Path(TURNSERVER).exists() else None)
    if found is None:
        pytest.fail(
            "coturn's turnserver is not installed (apt-get install coturn); "
            "this test checks TURN credentials against the real server and must not be skipped"
        )
    return found


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Send STUN Binding requests until coturn answers one."""
    request = bytes(
        stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    )
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"turnserver exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.3)
            try:
                probe.sendto(request, ("127.0.0.1", port))
                data, _ = probe.recvfrom(2048)
            except OSError:  # a timeout, or nothing listening yet
                continue
        if stun.parse_message(data).message_class == stun.Class.RESPONSE:
            return
    pytest.fail(f"turnserver did not answer STUN within {DEADLINE} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    binary = turnserver_binary()
    workdir = tmp_path_factory.mktemp("coturn")
    port = free_port()
    secret = secrets.token_urlsafe(24)
    log = workdir / "turnserver.log"
    args = [
        binary,
        "-n",  # no configuration file
        f"--listening-port={port}",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={REALM}",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",
        "--log-file=stdout",
        "--simple-log",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--db={workdir / 'turndb'}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        wait_until_listening(port, process, log)
        yield Coturn(port, secret, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
