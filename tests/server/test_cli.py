"""The ``balie`` command, called in-process with argv."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from identity.policy import Tag
from identity.vault import KeyRing, new_key_config_entry, open_identity, seal_identity
from identity.verifier import VerifiedIdentity
from server.cli import main
from server.config import Config
from server.core.secrets import load_keys
from server.db import create_engine, migrate
from server.staff.accounts import AccountStore, open_totp
from server.staff.demo import print_demo_accounts
from server.staff.tenants import FirstAdministrator, create_tenant
from server.verification.vault_store import SqlVault
from signaling.roles import Role
from signaling.tokens import KeySet, verify_room_token
from tests.redis_server import RedisServer
from tests.support import PRODUCTION_IDENTITY, free_port, operator_env


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    operator_env(monkeypatch, tmp_path)
    return tmp_path


def keyset(data_dir: Path) -> KeySet:
    return KeySet.from_json((data_dir / "room-keys.json").read_text())


def create_rooms(capsys: pytest.CaptureFixture[str], count: int) -> list[dict[str, Any]]:
    assert main(["room", "create", "--json", "--count", str(count)]) == 0
    rooms: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rooms


def test_room_create_json_gives_rooms_whose_tokens_verify(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rooms = create_rooms(capsys, 2)
    assert len(rooms) == 2
    assert rooms[0]["room"] != rooms[1]["room"]
    keys = load_keys(Config.from_env({"BALIE_DATA_DIR": str(data_dir)}))
    for room in rooms:
        room_id = room["room"]
        assert isinstance(room_id, str)
        for role in (Role.RESIDENT, Role.SPECIALIST):
            seat = room[role.value]
            claims = verify_room_token(keys, seat["token"], issuer="balie")
            assert claims.room == room_id and claims.role is role
            assert claims.participant_id == seat["participant_id"]
            assert seat["url"] == f"http://127.0.0.1:8080/call/{room_id}#token={seat['token']}"
    # the key file was created, readable by its owner only
    mode = (data_dir / "room-keys.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_room_create_text(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["room", "create"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ruimte r_")
    assert "Inwoner (resident): http://127.0.0.1:8080/call/" in out
    assert "Medewerker (specialist): " in out


def test_room_create_uses_the_public_url(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALIE_PUBLIC_URL", "https://balie.example.nl/")
    room = create_rooms(capsys, 1)[0]
    assert room["resident"]["url"].startswith(
        f"https://balie.example.nl/call/{room['room']}#token="
    )


def test_keys_rotate_adds_a_kid_and_old_tokens_still_verify(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_token = create_rooms(capsys, 1)[0]["resident"]["token"]
    before = keyset(data_dir)
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    after = keyset(data_dir)
    assert after.active != before.active and after.active in out
    assert after.kids == [*before.kids, after.active]
    assert verify_room_token(after, old_token, issuer="balie").role is Role.RESIDENT
    new_token = create_rooms(capsys, 1)[0]["resident"]["token"]
    assert verify_room_token(keyset(data_dir), new_token, issuer="balie").role is Role.RESIDENT
    assert (data_dir / "room-keys.json").stat().st_mode & 0o777 == 0o600


def test_keys_rotate_without_a_file_creates_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate"]) == 0
    assert len(keyset(data_dir).kids) == 1


def test_count_below_one_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["room", "create", "--count", "0"]) == 2
    assert "--count" in capsys.readouterr().err


def test_configuration_error_exits_2_and_names_the_variable(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALIE_WS_RATE", "fast")
    assert main(["room", "create"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "BALIE_WS_RATE" in err


def test_production_without_a_key_file_is_a_configuration_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALIE_ENV", "production")
    monkeypatch.setenv("BALIE_PUBLIC_URL", "https://balie.example.nl")
    for name, value in PRODUCTION_IDENTITY.items():
        monkeypatch.setenv(name, value)
    assert main(["room", "create"]) == 2
    assert "BALIE_ROOM_KEYS_FILE" in capsys.readouterr().err
    assert not (data_dir / "room-keys.json").exists()


def test_corrupt_key_file_is_a_configuration_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "room-keys.json").write_text("{not json")
    assert main(["room", "create"]) == 2
    assert "BALIE_ROOM_KEYS_FILE" in capsys.readouterr().err


def test_unknown_command_exits_with_usage(data_dir: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_vault_rotation_reseals_every_entry_under_the_new_key(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_key_config_entry("old"), new_key_config_entry("new")
    identity = VerifiedIdentity(
        verifier="yivi",
        purpose="bijstand",
        values={"bsn": "999999990"},
        tags=frozenset({Tag.BSN}),
        attribute_ids=("irma-demo.gemeente.personalData.bsn",),
        issuers=("irma-demo.gemeente",),
        verified_at=1,
        demo=True,
    )

    async def seal_with_old_key() -> FirstAdministrator:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'balie.db'}")
        await migrate(engine)
        entry = seal_identity(
            KeyRing.from_config(old), identity, room="r_1", verification_id="v_1", delete_after=1e12
        )
        await SqlVault(engine).put_bound(entry, tenant="t", browser_id="b", purpose="p", now=0)
        # a staff member's TOTP secret is sealed with the same ring
        admin = await create_tenant(
            engine,
            KeyRing.from_config(old),
            tenant_id="t-test",
            name="Test",
            login="beheer",
            display_name="Beheer",
            now=datetime.now(UTC),
        )
        await engine.dispose()
        return admin

    async def read_back() -> tuple[str, str, str | None]:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'balie.db'}")
        entry = await SqlVault(engine).get("r_1", "v_1")
        account = await AccountStore(engine).get(admin.tenant_id, admin.account_id)
        await engine.dispose()
        assert entry is not None and account is not None
        opened = open_identity(KeyRing.from_config(new), entry, now=2)
        return entry.kid, opened.values["bsn"], open_totp(KeyRing.from_config(new), account)

    admin = asyncio.run(seal_with_old_key())
    monkeypatch.setenv("BALIE_VAULT_KEYS", f"{new},{old}")
    assert main(["vault", "reseal"]) == 0
    out = capsys.readouterr().out
    sealed = "1 vault entries, 1 staff TOTP secrets and 0 call-back numbers now sealed with new"
    assert sealed in out
    # the old key can go now: the new one alone opens the entry and the TOTP secret
    assert asyncio.run(read_back()) == ("new", "999999990", admin.totp_secret)
    assert main(["vault", "reseal"]) == 0  # again: nothing left to move
    assert "0 vault entries, 0 staff TOTP secrets" in capsys.readouterr().out
    assert main(["vault", "new-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert KeyRing.from_config(printed).kids == [printed.split(":")[0]]


def test_room_create_takes_the_url_people_open(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server started with --port 9000 is reached there, not on the default 8080."""
    assert main(["room", "create", "--json", "--url", "http://127.0.0.1:9000"]) == 0
    room = json.loads(capsys.readouterr().out)[0]
    assert room["resident"]["url"].startswith(f"http://127.0.0.1:9000/call/{room['room']}#")


# --- `balie serve` says what is wrong in one line, before anything else --------------------


def serve(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``balie serve`` as a person would, and wait for it to give up."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    environment |= {"BALIE_DATA_DIR": str(data_dir), **env}
    return subprocess.run(
        [str(Path(sys.executable).with_name("balie")), "serve", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_and_nothing_else(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # no demo links, no passwords
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("balie: ") and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_serve_on_a_busy_port_says_so_and_touches_nothing(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve(data_dir, "--port", str(port))
    assert_one_line_and_nothing_else(result, f"port {port}", "--port")
    assert not (data_dir / "balie.db").exists()  # no migration ran


def test_serve_with_an_unreachable_database_says_so(data_dir: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+asyncpg://balie:geheim-wachtwoord@127.0.0.1:{port}/balie"
    result = serve(data_dir, "--port", str(free_port()), BALIE_DATABASE_URL=url)
    assert_one_line_and_nothing_else(result, "BALIE_DATABASE_URL")
    assert "geheim-wachtwoord" not in result.stderr


def test_serve_with_a_database_that_does_not_exist_says_so(data_dir: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/bestaat_niet_balie"
    result = serve(data_dir, "--port", str(free_port()), BALIE_DATABASE_URL=url)
    assert_one_line_and_nothing_else(result, "BALIE_DATABASE_URL", "bestaat_niet_balie")


def test_serve_without_the_postgresql_driver_says_how_to_install_it(data_dir: Path) -> None:
    # a path entry that hides asyncpg, as on a machine where the extra was not installed
    hide = data_dir / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoAsyncpg:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'asyncpg' or name.startswith('asyncpg.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'asyncpg'\")\n"
        "sys.meta_path.insert(0, _NoAsyncpg())\n"
    )
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    result = serve(
        data_dir, "--port", str(free_port()), BALIE_DATABASE_URL=url, PYTHONPATH=str(hide)
    )
    assert_one_line_and_nothing_else(result, "BALIE_DATABASE_URL", "[postgres]")


def test_the_demo_totp_label_is_the_user_name_the_sign_in_asks_for(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    print_demo_accounts(Config.from_env({"BALIE_DATA_DIR": str(data_dir)}))
    printed = capsys.readouterr().out
    assert "otpauth://totp/Balie%20%28demo%29:specialist?" in printed
    assert "specialist@demo" not in printed


def test_migrate_brings_an_empty_database_to_head_and_then_has_nothing_to_do(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    assert re.search(r"went from empty to \w+", capsys.readouterr().out)
    assert main(["migrate"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    monkeypatch.setenv(
        "BALIE_DATABASE_URL", f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/x"
    )
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "BALIE_DATABASE_URL" in err and len(err.strip().splitlines()) == 1


def test_keys_rotate_links_adds_a_link_key_and_keeps_the_old_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "links"]) == 0
    first = json.loads((data_dir / "link-keys.json").read_text())
    # the file belongs to the user the nodes run as; the rotation keeps it theirs
    owner = 10001 if os.getuid() == 0 else os.getuid()
    os.chown(data_dir / "link-keys.json", owner, owner)
    assert main(["keys", "rotate", "links"]) == 0
    assert (data_dir / "link-keys.json").stat().st_uid == owner
    second = json.loads((data_dir / "link-keys.json").read_text())
    assert first["keys"].items() <= second["keys"].items() and second["active"] != first["active"]
    assert f"links: signing key is now {second['active']}" in capsys.readouterr().out
    assert (data_dir / "link-keys.json").stat().st_mode & 0o777 == 0o600
    assert not (data_dir / "room-keys.json").exists()  # the other file is left alone


def test_serve_with_a_busy_link_port_says_so(
    data_dir: Path, redis: RedisServer, postgres_url: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve(
            data_dir,
            "--port",
            str(free_port()),
            BALIE_DATABASE_URL=postgres_url,
            BALIE_REDIS_URL=redis.url,
            BALIE_BUS_KEYS="k1:" + base64.b64encode(os.urandom(32)).decode(),
            BALIE_LINK_LISTEN=f"127.0.0.1:{port}",
        )
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("balie: configuration error: BALIE_LINK_LISTEN: cannot listen there")
    assert f"{port}" in last and "Traceback" not in result.stderr
