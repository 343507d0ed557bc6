"""A private Redis server on a loopback port, for tests that stop and start Redis.

The shared Redis at 127.0.0.1:6379 serves other suites; restarting it would hurt them, so
tests of a Redis restart get a ``redis-server`` of their own. There is no skip: without
``redis-server`` the test fails.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port

DEADLINE = 20.0


@dataclass(frozen=True)
class SelfSigned:
    """A certificate for 127.0.0.1 that is its own CA, and its key, as PEM files."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> SelfSigned:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        files = cls(directory / "redis-tls.crt", directory / "redis-tls.key")
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return files


class RedisServer:
    def __init__(
        self, directory: Path, *, users: Sequence[str] = (), tls: SelfSigned | None = None
    ) -> None:
        """``users``: ACL rules (``redis.conf``'s ``user`` lines without the word ``user``);
        with any, the default user is switched off and every client must sign in. With
        ``tls`` Redis speaks TLS only (``rediss://``)."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.users = [*users, "default off"] if users else []
        self.tls = tls
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls.cert}"
        return f"redis://127.0.0.1:{self.port}/0"

    def _listen(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        return [
            "--port",
            "0",
            "--tls-port",
            str(self.port),
            "--tls-cert-file",
            str(self.tls.cert),
            "--tls-key-file",
            str(self.tls.key),
            "--tls-ca-cert-file",
            str(self.tls.cert),
            "--tls-auth-clients",
            "no",
        ]

    def _probe(self) -> socket.socket:
        plain = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
        if self.tls is None:
            return plain
        context = ssl.create_default_context(cafile=str(self.tls.cert))
        return context.wrap_socket(plain, server_hostname="127.0.0.1")

    def start(self) -> None:
        """Start on this server's port (again, after :meth:`stop`), and wait for PONG."""
        self.process = subprocess.Popen(
            [
                self.binary,
                *self._listen(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *(arg for rule in self.users for arg in ("--user", *rule.split())),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode}")
            try:
                with self._probe() as probe:
                    probe.sendall(b"PING\r\n")
                    # answering: PONG, or asking who we are when the default user is off
                    if probe.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not answer PING")

    def stop(self) -> None:
        """Stop it as a restart does: the process ends, every connection with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=DEADLINE)
        self.process = None


@contextmanager
def redis_server(
    directory: Path, *, users: Sequence[str] = (), tls: SelfSigned | None = None
) -> Iterator[RedisServer]:
    server = RedisServer(directory, users=users, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
