"""``balie check`` as an operator runs it: the real command in a process of its own, reading
its environment as ``balie serve`` does."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.booking.links import LinkKeys
from server.core.secrets import write_secret
from signaling.tokens import KeySet
from tests.support import PRODUCTION_IDENTITY

BALIE = str(Path(sys.executable).with_name("balie"))
PUBLIC = "https://balie.gemeente.example"


def balie_check(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    return subprocess.run(
        [BALIE, "check", *args],
        env=clean | dict(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    """A production configuration with every key file in place: nothing wrong with it."""
    write_secret(tmp_path / "room-keys.json", KeySet.generate().to_json())
    write_secret(tmp_path / "link-keys.json", LinkKeys.generate().to_json())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "irma-jwt.pem").write_bytes(pem)
    return {
        **PRODUCTION_IDENTITY,
        "BALIE_ENV": "production",
        "BALIE_DATA_DIR": str(tmp_path),
        "BALIE_PUBLIC_URL": PUBLIC,
        "BALIE_ALLOWED_ORIGINS": PUBLIC,
        "BALIE_TURN_URLS": "turn:turn.gemeente.example:3478?transport=udp",
        "BALIE_TURN_SECRET": "coturn-static-auth-secret",
        "BALIE_IRMA_RESULT_KEY_FILE": str(tmp_path / "irma-jwt.pem"),
        "BALIE_FEED_SECRET": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BALIE_DATABASE_URL": "postgresql+asyncpg://balie:db-password@db/balie",
    }


def test_a_good_configuration_is_ok_in_one_line(production: dict[str, str]) -> None:
    done = balie_check(production)
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith(f"balie check: ok: production at {PUBLIC}; PostgreSQL, one node")
    assert "db-password" not in line and "coturn-static-auth-secret" not in line
    assert done.stderr == ""


def test_every_problem_is_one_line_and_the_exit_status_is_1(production: dict[str, str]) -> None:
    """Demo mode, the emulator (no irma server), a missing vault key, origins not set and a
    non-https public URL, all at once: each is named, with what to set."""
    env = dict(production)
    for name in ("BALIE_IRMA_URL", "BALIE_VAULT_KEYS", "BALIE_ALLOWED_ORIGINS"):
        del env[name]
    env |= {"BALIE_DEMO_MODE": "true", "BALIE_PUBLIC_URL": "http://balie.gemeente.example"}
    done = balie_check(env)
    assert done.returncode == 1
    headline, *lines = done.stdout.splitlines()
    assert headline == f"balie check: {len(lines)} problems"
    named = [line.removeprefix("- ").split()[0] for line in lines]
    assert named == [
        "BALIE_PUBLIC_URL",
        "BALIE_DEMO_MODE",
        "BALIE_IRMA_URL",
        "BALIE_VAULT_KEYS",
        "BALIE_ALLOWED_ORIGINS",
    ]
    assert lines[0].endswith("(balie serve refuses to start)")
    assert not lines[-1].endswith("(balie serve refuses to start)")
    assert "set BALIE_DEMO_MODE=false" in lines[1]


def test_sqlite_with_redis(production: dict[str, str]) -> None:
    env = production | {
        "BALIE_DATABASE_URL": "",
        "BALIE_REDIS_URL": "redis://127.0.0.1:6379/0",
        "BALIE_BUS_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    done = balie_check(env)
    assert done.returncode == 1
    assert done.stdout.splitlines()[1].startswith("- BALIE_REDIS_URL runs several nodes")
    assert "PostgreSQL" in done.stdout and "SQLite" in done.stdout


def test_turn_urls_without_a_secret(production: dict[str, str]) -> None:
    done = balie_check(production | {"BALIE_TURN_SECRET": ""})
    assert done.returncode == 1
    assert "cannot be read further" in done.stdout
    assert "TURN URLs need a TURN secret" in done.stdout


def test_key_files_are_read_as_balie_serve_reads_them(
    production: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "room-keys.json").write_text("{not json")
    (tmp_path / "link-keys.json").unlink()
    done = balie_check(production, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert [p["variable"] for p in report["problems"]] == [
        "BALIE_ROOM_KEYS_FILE",
        "BALIE_LINK_KEYS_FILE",
    ]
    assert all(p["refuses_start"] for p in report["problems"])
    # read, never made: the missing file is still missing
    assert not (tmp_path / "link-keys.json").exists()


def test_balie_serve_refuses_what_check_marks_so(production: dict[str, str]) -> None:
    """The same rule, once: serve stops on the first refused finding with its text."""
    env = production | {"BALIE_DEMO_MODE": "true"}
    checked = balie_check(env)
    refused = [line for line in checked.stdout.splitlines() if "refuses to start" in line]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    served = subprocess.run(
        [BALIE, "serve", "--port", "1"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 2
    message = refused[0].removeprefix("- ").removesuffix(" (balie serve refuses to start)")
    assert served.stderr.strip() == f"balie: configuration error: {message}"
