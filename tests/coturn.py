"""A real coturn TURN server on a loopback port, for the tests that need one.

There is no skip: without ``turnserver`` (Debian's coturn) the test fails.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioice import stun

from tests.support import free_port

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


@contextmanager
def running_coturn(workdir: Path) -> Iterator[Coturn]:
    """A real coturn (use-auth-secret, a random secret) on a free loopback port."""
    binary = turnserver_binary()
    port = free_port(udp=True)
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
