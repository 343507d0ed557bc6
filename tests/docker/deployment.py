"""docker/compose.yaml's topology as containers on the host's network, for tests/docker.

The same images (docker/build: balie:local and the local service images), configuration
files (docker/haproxy, docker/redis, docker/coturn) and secret files (docker/make-secrets)
as the compose file; what differs is only the network: every container listens on a free
loopback port, so all traffic stays on this machine. The web name is 127.0.0.1, the TURN
name 127.0.0.2 (a second address, as TURN over TLS on 443 needs in production), and a private
CA made here signs both. The irma server is the built-in emulator run apart over TLS, as a
real ``irma server`` runs; Balie trusts the CA through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import ipaddress
import json
import secrets
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from identity.emulator import EmulatorSettings, TokenAuth, create_emulator_app
from tests.support import free_port

ROOT: Final = Path(__file__).resolve().parents[2]
DOCKER: Final = ROOT / "docker"
IMAGES: Final = {
    "balie": "balie:local",
    "postgres": "balie-postgres:local",
    "redis": "balie-redis:local",
    "coturn": "balie-coturn:local",
    "haproxy": "balie-haproxy:local",
}
WEB_HOST: Final = "127.0.0.1"
TURN_HOST: Final = "127.0.0.2"
#: secrets each service sees, as in docker/compose.yaml
BALIE_SECRETS: Final = (
    "BALIE_DATABASE_URL",
    "BALIE_REDIS_URL",
    "BALIE_BUS_KEYS",
    "BALIE_VAULT_KEYS",
    "BALIE_FEED_SECRET",
    "BALIE_TURN_SECRET",
    "BALIE_IRMA_TOKEN",
    "BALIE_PROBE_SECRET",
    "irma-jwt.pem",
)
#: where the nodes see the room and link key files (a directory: compose.yaml)
KEYS_MOUNT: Final = "/run/balie-keys"
HEALTHY_WITHIN: Final = 120.0


def docker(*args: str, check: bool = True, timeout: float = 120.0) -> str:
    """Run the docker command; its output (stdout), or an error with what it said."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}...: {done.stderr.strip()[-2000:]}")
    return done.stdout


def build_images() -> float:
    """docker/build (it starts dockerd if none answers); the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(
        [str(DOCKER / "build")], capture_output=True, text=True, timeout=1500, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker/build failed:\n{done.stderr[-4000:]}")
    return time.monotonic() - started


def port_free(host: str, port: int) -> bool:
    """``port`` can be bound on ``host`` for both TCP and UDP now."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


# --- certificates ---------------------------------------------------------------------------


@dataclass
class Certificates:
    ca: Path
    #: the chain and key in one PEM (HAProxy's and coturn's format)
    server_pem: Path
    cert: Path
    key: Path


def make_certificates(directory: Path, addresses: Sequence[str]) -> Certificates:
    """A private CA and one server certificate for ``addresses`` (IP addresses)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Balie test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, addresses[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    paths = Certificates(
        ca=directory / "ca.pem",
        server_pem=directory / "server.pem",
        cert=directory / "server.crt",
        key=directory / "server.key",
    )
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.cert.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    paths.key.write_bytes(key_pem)
    paths.server_pem.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem) + key_pem)
    for path in (paths.ca, paths.cert, paths.key, paths.server_pem):
        path.chmod(0o644)  # read by the services' own users, as make-secrets leaves them
    return paths


# --- the irma server ------------------------------------------------------------------------


class IrmaStandIn:
    """The IRMA emulator as an irma server of its own, over TLS, in a thread with its own loop
    (so module-wide fixtures need no shared event loop)."""

    def __init__(self, port: int, token: str, certificates: Certificates) -> None:
        self.port = port
        self.url = f"https://{WEB_HOST}:{port}"
        self.jwt_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._token = token
        self._certificates = certificates
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="irma-stand-in", daemon=True)
        self._failure: BaseException | None = None

    def public_key_pem(self) -> bytes:
        return self.jwt_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30) or self._failure is not None:
            raise RuntimeError(f"the irma stand-in did not start: {self._failure!r}")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        app = create_emulator_app(
            EmulatorSettings(
                public_url=self.url,
                requestor_auth=TokenAuth(self._token),
                jwt_private_key=self.jwt_key,
            )
        )
        runner = web.AppRunner(app, access_log=None)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._certificates.cert, self._certificates.key)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, WEB_HOST, self.port, ssl_context=context)
            loop.run_until_complete(site.start())
        except BaseException as error:
            self._failure = error
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()


# --- the containers -------------------------------------------------------------------------


@dataclass
class Container:
    name: str
    service: str

    def inspect(self) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(docker("inspect", self.name))
        return found[0]

    def health(self) -> str:
        state = self.inspect()["State"]
        if not state["Running"]:
            return f"exited {state['ExitCode']}"
        return str(state.get("Health", {}).get("Status", "no health check"))

    def logs(self, lines: int = 60) -> str:
        done = subprocess.run(
            ["docker", "logs", "--tail", str(lines), self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr


@dataclass
class Deployment:
    directory: Path
    secrets: Path
    certificates: Certificates
    web_port: int
    http_port: int
    monitor_port: int
    turn_port: int
    turn_tls_port: int
    node_ports: tuple[int, int]
    postgres_port: int
    redis_port: int
    irma: IrmaStandIn
    #: where the nodes' mail relay would be: nothing listens there
    smtp_port: int = field(default_factory=free_port)
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    containers: dict[str, Container] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://{WEB_HOST}:{self.web_port}"

    @property
    def probe_secret(self) -> Path:
        """The nodes' ``BALIE_PROBE_SECRET`` file (docker/make-secrets), which ``balie probe
        --secret-file`` reads on the host that probes."""
        return self.secrets / "BALIE_PROBE_SECRET"

    @property
    def node_environment(self) -> dict[str, str]:
        """The Balie nodes' settings: docker/compose.yaml's ``x-balie`` environment, with this
        machine's names and ports."""
        turn = TURN_HOST
        return {
            "BALIE_ENV": "production",
            "BALIE_PUBLIC_URL": self.url,
            "BALIE_TRUSTED_PROXIES": WEB_HOST,
            "BALIE_STUN_URLS": f"stun:{turn}:{self.turn_port}",
            "BALIE_TURN_URLS": (
                f"turn:{turn}:{self.turn_port}?transport=udp,"
                f"turn:{turn}:{self.turn_port}?transport=tcp,"
                f"turns:{turn}:{self.turn_tls_port}?transport=tcp"
            ),
            "BALIE_IRMA_URL": self.irma.url,
            "BALIE_IRMA_PUBLIC_URL": "",
            # a relay on the host that is not there: messages wait in the outbox, as they
            # would while a municipality's relay is down
            "BALIE_SMTP_HOST": "127.0.0.1",
            "BALIE_SMTP_PORT": str(self.smtp_port),
            "BALIE_SMTP_SECURITY": "none",
            "BALIE_SMTP_USERNAME": "",
            "BALIE_MAIL_FROM": "",
            "BALIE_IRMA_RESULT_KEY_FILE": "/run/secrets/irma-jwt.pem",
            "BALIE_ROOM_KEYS_FILE": f"{KEYS_MOUNT}/room-keys.json",
            "BALIE_LINK_KEYS_FILE": f"{KEYS_MOUNT}/link-keys.json",
            # on the host's network, so on a free loopback port each
            "BALIE_LINK_LISTEN": f"{WEB_HOST}:0",
        }

    def mounts(self, *names: str) -> list[str]:
        """``-v`` arguments for secret files, at /run/secrets as compose mounts them."""
        out: list[str] = []
        for name in names:
            out += ["-v", f"{self.secrets / name}:/run/secrets/{name}:ro"]
        return out

    def run(self, service: str, name: str, args: Sequence[str], command: Sequence[str]) -> None:
        container = Container(f"balie-test-{self.run_id}-{name}", service)
        docker(
            "run",
            "--detach",
            "--name",
            container.name,
            "--network",
            "host",
            "--health-interval",
            "1s",
            "--health-start-period",
            "60s",
            *args,
            *command,
        )
        self.containers[name] = container

    def start_postgres(self) -> None:
        port = str(self.postgres_port)
        self.run(
            "postgres",
            "postgres",
            [
                *("-e", "POSTGRES_USER=balie", "-e", "POSTGRES_DB=balie"),
                *("-e", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password"),
                *self.mounts("postgres-password"),
                *("--health-cmd", f"pg_isready -h {WEB_HOST} -p {port} -U balie -d balie"),
                IMAGES["postgres"],
            ],
            ["postgres", "-p", port, "-c", f"listen_addresses={WEB_HOST}", "-c", "fsync=off"],
        )

    def start_redis(self) -> None:
        port = str(self.redis_port)
        self.run(
            "redis",
            "redis",
            [
                *("-v", f"{DOCKER / 'redis/redis.conf'}:/usr/local/etc/redis/redis.conf:ro"),
                *self.mounts("redis-users.acl"),
                *("--health-cmd", f"redis-cli -h {WEB_HOST} -p {port} ping"),
                IMAGES["redis"],
            ],
            ["redis-server", "/usr/local/etc/redis/redis.conf", "--port", port, "--bind", WEB_HOST],
        )

    def start_coturn(self) -> None:
        self.run(
            "coturn",
            "coturn",
            [
                "--read-only",
                *("--tmpfs", "/tmp"),  # noqa: S108 - a tmpfs of the container
                *("-v", f"{DOCKER / 'coturn/balie.conf'}:/etc/coturn/balie.conf:ro"),
                *("-v", f"{DOCKER / 'coturn/start.sh'}:/etc/coturn/start.sh:ro"),
                *self.mounts("BALIE_TURN_SECRET", "turn.pem"),
                *("--health-cmd", f"turnutils_stunclient -p {self.turn_port} {TURN_HOST}"),
                *("--entrypoint", "sh"),
                IMAGES["coturn"],
            ],
            [
                "/etc/coturn/start.sh",
                f"--listening-ip={TURN_HOST}",
                f"--relay-ip={TURN_HOST}",
                f"--listening-port={self.turn_port}",
                f"--tls-listening-port={self.turn_tls_port}",
                "--realm=balie.test",
                "--server-name=balie.test",
                # only here: the peers of this test are on loopback too
                "--allow-loopback-peers",
            ],
        )

    def start_node(self, index: int) -> None:
        environment = {
            **self.node_environment,
            "BALIE_HOST": WEB_HOST,
            "BALIE_PORT": str(self.node_ports[index]),
            # the private CA of this test's irma stand-in
            "SSL_CERT_FILE": "/etc/balie/ca.pem",
        }
        self.run(
            "balie",
            f"balie{index + 1}",
            [
                "--read-only",
                *("--tmpfs", "/var/lib/balie:size=16m,uid=10001,gid=10001,mode=0700"),
                *("--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"),
                *[arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")],
                *("-v", f"{self.certificates.ca}:/etc/balie/ca.pem:ro"),
                *self.mounts(*BALIE_SECRETS),
                *("-v", f"{self.secrets / 'keys'}:{KEYS_MOUNT}:ro"),
                IMAGES["balie"],
            ],
            [],
        )

    def start_haproxy(self) -> None:
        monitor = self.monitor_port
        self.run(
            "haproxy",
            "haproxy",
            [
                "--read-only",
                *("-e", f"HAPROXY_HTTPS_BIND={WEB_HOST}:{self.web_port}"),
                *("-e", f"HAPROXY_HTTP_BIND={WEB_HOST}:{self.http_port}"),
                *("-e", f"HAPROXY_MONITOR_BIND={WEB_HOST}:{monitor}"),
                *("-e", f"BALIE1_ADDR={WEB_HOST}:{self.node_ports[0]}"),
                *("-e", f"BALIE2_ADDR={WEB_HOST}:{self.node_ports[1]}"),
                *("-v", f"{DOCKER / 'haproxy/haproxy.cfg'}:/usr/local/etc/haproxy/haproxy.cfg:ro"),
                *self.mounts("tls.pem"),
                *(
                    "--health-cmd",
                    f"bash -c \"exec 3<>/dev/tcp/{WEB_HOST}/{monitor} && printf 'GET /healthz "
                    "HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '\"",
                ),
                IMAGES["haproxy"],
            ],
            ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
        )

    def wait_healthy(self, names: Sequence[str], within: float = HEALTHY_WITHIN) -> None:
        """Until Docker reports each container healthy (its own health check), or fail with
        the logs of those that are not."""
        deadline = time.monotonic() + within
        while True:
            states = {name: self.containers[name].health() for name in names}
            if all(state == "healthy" for state in states.values()):
                return
            stuck = [n for n, s in states.items() if s != "healthy" and s != "starting"]
            if stuck or time.monotonic() > deadline:
                bad = stuck or [n for n, s in states.items() if s != "healthy"]
                logs = "\n".join(f"--- {n} ---\n{self.containers[n].logs()}" for n in bad)
                raise AssertionError(f"not healthy: {states}\n{logs}")
            time.sleep(0.5)

    def proxy_states(self) -> dict[str, str]:
        """Each node's state in HAProxy's eyes (its /stats;csv on the monitor address)."""
        url = f"http://{WEB_HOST}:{self.monitor_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=5) as response:
            rows = csv.DictReader(response.read().decode().lstrip("# ").splitlines())
            return {row["svname"]: row["status"] for row in rows if row["pxname"] == "balie"}

    def wait_until_both_nodes_are_up(self, within: float = 30.0) -> None:
        """Until the proxy's checks of /readyz passed on both nodes (its own health check asks
        for one only)."""
        deadline = time.monotonic() + within
        while (states := self.proxy_states()).get("balie1") != "UP" or states["balie2"] != "UP":
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy sees {states}")
            time.sleep(0.3)

    def remove(self) -> None:
        names = [container.name for container in self.containers.values()]
        if names:
            docker("rm", "--force", "--volumes", *names, check=False)


@contextmanager
def deployment(directory: Path) -> Iterator[Deployment]:
    """The whole topology, started in the order compose starts it, each part healthy before
    what depends on it; removed afterwards."""
    secret_dir = directory / "secrets"
    secret_dir.mkdir(mode=0o700)
    certificates = make_certificates(directory, [WEB_HOST, TURN_HOST])
    (secret_dir / "tls.pem").write_bytes(certificates.server_pem.read_bytes())
    (secret_dir / "turn.pem").write_bytes(certificates.server_pem.read_bytes())
    for name in ("tls.pem", "turn.pem"):
        (secret_dir / name).chmod(0o644)
    postgres_port, redis_port = free_port(), free_port()
    done = subprocess.run(
        [
            str(DOCKER / "make-secrets"),
            str(secret_dir),
            f"--database={WEB_HOST}:{postgres_port}",
            f"--redis={WEB_HOST}:{redis_port}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker/make-secrets failed: {done.stderr}")
    irma = IrmaStandIn(
        free_port(), (secret_dir / "BALIE_IRMA_TOKEN").read_text().strip(), certificates
    )
    (secret_dir / "irma-jwt.pem").write_bytes(irma.public_key_pem())
    (secret_dir / "irma-jwt.pem").chmod(0o644)
    # TURN over TLS on 443 of its own address, as in production, when this machine lets us
    turn_tls_port = 443 if port_free(TURN_HOST, 443) else free_port(udp=True)
    setup = Deployment(
        directory=directory,
        secrets=secret_dir,
        certificates=certificates,
        web_port=free_port(),
        http_port=free_port(),
        monitor_port=free_port(),
        turn_port=free_port(udp=True),
        turn_tls_port=turn_tls_port,
        node_ports=(free_port(), free_port()),
        postgres_port=postgres_port,
        redis_port=redis_port,
        irma=irma,
    )
    irma.start()
    try:
        setup.start_postgres()
        setup.start_redis()
        setup.start_coturn()
        setup.wait_healthy(["postgres", "redis", "coturn"])
        setup.start_node(0)
        setup.start_node(1)
        setup.wait_healthy(["balie1", "balie2"])
        setup.start_haproxy()
        setup.wait_healthy(["haproxy"])
        setup.wait_until_both_nodes_are_up()
        yield setup
    finally:
        setup.remove()
        irma.stop()
