"""Balie's production image, built and run in docker/compose.yaml's shape (issue 12).

docker/build makes the images (Debian's packages through debootstrap: no registry is
needed), then two Balie nodes in production mode run behind HAProxy (TLS) with PostgreSQL,
Redis and coturn, each a container on the host's network (tests/docker/deployment.py).
What must hold: the image is small, runs as a user that is not root, on a read-only root
filesystem, with no compiler, installer or secret in it; every container reports healthy by
its own health check; ``/healthz`` and ``/readyz`` answer through the proxy; and ``balie
probe``, run from this host as an operator runs it after deploying, completes a call through
the proxy with frames decoded, once direct and once relay-only through coturn over TLS, and
fails in one line naming the step when its secret is wrong.

Run with ``-s`` to see the image size, the build and start-up times and the probe's steps.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from tests.docker.deployment import (
    BALIE_SECRETS,
    DOCKER,
    IMAGES,
    KEYS_MOUNT,
    TURN_HOST,
    Deployment,
    build_images,
    deployment,
    docker,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

#: the image's users: Balie's own, never root
BALIE_USER: Final = "10001:10001"
#: the ``balie`` command of the environment running the tests (.venv/bin/balie)
BALIE: Final = str(Path(sys.executable).with_name("balie"))
#: ``balie probe``'s steps, in order (docs/operations.md)
PROBE_STEPS: Final = ("room", "connect", "join", "admit", "ice", "frame")
#: what a node logs for a wrong probe secret (a warning): this module provokes it once
REFUSED_PROBE: Final = " WARNING balie.probe probe secret refused"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    seconds = build_images()
    print(f"\ndocker/build: {seconds:.1f} s")  # noqa: T201
    started = time.monotonic()
    with deployment(tmp_path_factory.mktemp("docker")) as setup:
        print(f"six parts healthy in {time.monotonic() - started:.1f} s")  # noqa: T201
        yield setup


@pytest.fixture
async def session(running: Deployment) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=running.certificates.ca)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as client:
        yield client


def test_the_image_is_small_unprivileged_read_only_and_without_tools_or_secrets(
    running: Deployment,
) -> None:
    image = json.loads(docker("image", "inspect", IMAGES["balie"]))[0]
    size = image["Size"] / 1e6
    print(f"\n{IMAGES['balie']}: {size:.0f} MB")  # noqa: T201
    assert size < 400
    config = image["Config"]
    assert config["User"] == BALIE_USER
    assert config["Healthcheck"]["Test"] == ["CMD", "/opt/balie/bin/healthcheck"]
    # nothing secret in the image's settings: only where things are
    assert {entry.split("=", 1)[0] for entry in config["Env"]} <= {
        "PATH",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "BALIE_HOST",
        "BALIE_PORT",
        "BALIE_DATA_DIR",
        "BALIE_NODE_MODULES",
        # the official python image's own
        "GPG_KEY",
        "PYTHON_VERSION",
        "PYTHON_SHA256",
    }
    tools = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        IMAGES["balie"],
        "-c",
        "for t in gcc cc c++ make ld pip pip3; do command -v $t || true; done; "
        "ls /run/secrets 2>/dev/null || true",
    )
    assert tools.strip() == "", f"in the image: {tools}"

    # secret files are the deployment's, in a directory only root opens (docker/make-secrets)
    assert running.secrets.stat().st_mode & 0o077 == 0
    for node in ("balie1", "balie2"):
        container = running.containers[node]
        host = container.inspect()["HostConfig"]
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges:true"]
        assert docker("exec", container.name, "id", "-u").strip() == "10001"
        wrote = docker("exec", container.name, "sh", "-c", "touch /opt/balie/x 2>&1", check=False)
        assert "Read-only file system" in wrote
        # the data directory is the one place it may write
        docker("exec", container.name, "sh", "-c", "touch /var/lib/balie/x && rm /var/lib/balie/x")


def test_the_deployment_is_the_one_compose_describes(running: Deployment) -> None:
    yaml: Any = importlib.import_module("yaml")  # PyYAML, without type stubs
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"balie1", "balie2", "haproxy", "postgres", "redis", "coturn"}
    assert all("healthcheck" in service for service in services.values())
    balie = services["balie1"]
    assert balie == services["balie2"]
    assert set(balie["environment"]) == set(running.node_environment)
    assert tuple(balie["secrets"]) == BALIE_SECRETS
    assert balie["volumes"] == [f"${{SECRETS_DIR:-./secrets}}/keys:{KEYS_MOUNT}:ro"]
    assert balie["read_only"] is True and balie["cap_drop"] == ["ALL"]
    # the official images by default; the local ones only by choice
    for name in ("postgres", "redis", "coturn", "haproxy"):
        assert services[name]["image"].startswith("${"), services[name]["image"]
        assert ":-" in services[name]["image"]
    # TURN over TLS on 443, on an address of its own (the web's 443 is HAProxy's)
    assert "--tls-listening-port=443" in services["coturn"]["command"]
    assert services["coturn"]["network_mode"] == "host"
    assert "${WEB_IP:?" in services["haproxy"]["ports"][0]


async def test_health_and_readiness_through_the_proxy(
    running: Deployment, session: aiohttp.ClientSession
) -> None:
    assert {name: c.health() for name, c in running.containers.items()} == dict.fromkeys(
        running.containers, "healthy"
    )
    for _ in range(4):  # the proxy spreads requests over both nodes
        async with session.get(running.url + "/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
            assert "max-age" in response.headers["Strict-Transport-Security"]
        async with session.get(running.url + "/readyz") as response:
            body = await response.json()
            assert response.status == 200, body
            assert body == {
                "status": "ready",
                "checks": {
                    "database": "ok",
                    "redis": "ok",
                    "signalling": "ok",
                    "verifier": "ok",
                },
            }
    # each node on its own, behind the proxy's back
    for port in running.node_ports:
        async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
            assert response.status == 200
    # plain HTTP only redirects
    async with session.get(
        f"http://127.0.0.1:{running.http_port}/afspraak", allow_redirects=False
    ) as response:
        assert response.status == 301
        assert response.headers["Location"].startswith("https://")
    # the browser packages Balie serves came with the image (npm ci --omit=dev)
    async with session.get(running.url + "/vendor/yivi.js") as response:
        assert response.status == 200
        assert len(await response.read()) > 10_000


@dataclass(frozen=True)
class Ran:
    """What ``balie probe --json`` did."""

    code: int
    out: str
    err: str

    @property
    def report(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.out)
        return parsed


def balie_probe(running: Deployment, *args: str, secret: Path | None = None) -> Ran:
    """``balie probe URL --secret-file FILE --json`` through the proxy: the real command, from
    this host, in a process of its own. It trusts the test's CA through ``SSL_CERT_FILE``, for
    HAProxy's certificate and for coturn's over TLS (aioice's default context reads it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BALIE_")}
    env["SSL_CERT_FILE"] = str(running.certificates.ca)
    secret_file = running.probe_secret if secret is None else secret
    done = subprocess.run(
        [BALIE, "probe", running.url, "--secret-file", str(secret_file), "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def a_whole_call(ran: Ran, title: str) -> dict[str, str]:
    """Check that the probe completed every step; print their durations; each step's detail."""
    assert ran.code == 0, ran
    assert ran.err == "", ran
    assert ran.report["ok"] is True and ran.report["failed"] is None, ran
    steps = ran.report["steps"]
    assert tuple(step["step"] for step in steps) == PROBE_STEPS, ran
    timings = ", ".join(f"{step['step']} {step['ms']}" for step in steps)
    print(f"\n{title}: {timings} ms; {ran.report['total_ms']} ms in all")  # noqa: T201
    return {step["step"]: step["detail"] for step in steps}


def test_a_call_through_the_proxy(running: Deployment) -> None:
    details = a_whole_call(balie_probe(running), "balie probe through the proxy")
    # ICE connected on a direct pair, and each side decoded the other's video
    assert details["ice"].startswith("both peer connections connected (direct; candidates "), (
        details
    )
    assert details["frame"] == "both sides decoded a video frame"
    assert_no_tracebacks(running)


def test_a_relay_only_call_through_coturn_over_tls(
    running: Deployment,
) -> None:
    ran = balie_probe(running, "--relay-only", "--turn", "tls")
    port = running.turn_tls_port
    details = a_whole_call(ran, f"balie probe --relay-only --turn tls ({TURN_HOST}:{port})")
    assert ran.report["relay_only"] is True
    # relay candidates only, on both sides, from the turns: URL alone; the pair is relayed
    assert details["ice"] == "both peer connections connected (relay; candidates relay)"
    assert details["frame"] == "both sides decoded a video frame"
    assert_no_tracebacks(running)


def test_a_key_rotation_reaches_the_running_nodes(running: Deployment) -> None:
    """``balie keys rotate rooms`` as docs/deploy.md runs it, in a container of the image on
    the key directory the nodes mount: the next call works with the new key, no restart."""
    keys = running.secrets / "keys" / "room-keys.json"
    before = json.loads(keys.read_text())
    owner = keys.stat().st_uid
    docker(
        "run",
        "--rm",
        *("--network", "none", "--user", "0:0"),
        *("-v", f"{keys.parent}:/keys", "-e", "BALIE_ROOM_KEYS_FILE=/keys/room-keys.json"),
        *("--entrypoint", "balie", IMAGES["balie"], "keys", "rotate", "rooms"),
    )
    after = json.loads(keys.read_text())
    kids = [key["kid"] for key in after["keys"]]
    assert kids == [*(key["kid"] for key in before["keys"]), after["active"]]
    assert keys.stat().st_uid == owner  # still the nodes' to read
    a_whole_call(balie_probe(running), "balie probe after a room-key rotation")
    logs = {name: running.containers[name].logs(lines=5000) for name in ("balie1", "balie2")}
    taken_up = [name for name, text in logs.items() if "reloaded; keys: " in text]
    assert taken_up, "no node took up the new key"
    assert all(after["active"] in logs[name] for name in taken_up)
    assert_no_tracebacks(running)


def test_a_wrong_probe_secret_fails_in_one_line(running: Deployment, tmp_path: Path) -> None:
    wrong = tmp_path / "BALIE_PROBE_SECRET"
    wrong.write_text(secrets.token_urlsafe(32) + "\n")
    ran = balie_probe(running, secret=wrong)
    assert ran.code == 1, ran
    (line,) = ran.err.splitlines()
    assert line.startswith("balie probe: room: the probe secret was refused (401)"), line
    assert ran.report["ok"] is False and ran.report["failed"] == "room", ran
    assert ran.report["steps"] == []
    # the node that answered says so, once, and never what it was shown
    logs = "".join(running.containers[name].logs(lines=5000) for name in ("balie1", "balie2"))
    assert logs.count(REFUSED_PROBE) == 1
    assert wrong.read_text().strip() not in logs
    assert_no_tracebacks(running)


def assert_no_tracebacks(running: Deployment) -> None:
    """The nodes logged nothing wrong: no traceback, no warning or error (a Redis ACL that
    lacks a command Balie sends shows only as a warning, every second), but for the refused
    probe secret that the wrong-secret test provokes."""
    for name in ("balie1", "balie2"):
        logs = running.containers[name].logs(lines=5000)
        wrong = [
            line
            for line in logs.splitlines()
            if ("Traceback" in line or " WARNING " in line or " ERROR " in line)
            and not line.endswith(REFUSED_PROBE)
        ]
        assert wrong == [], "\n".join(wrong[:20])
