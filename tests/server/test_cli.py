"""The ``balie`` command, called in-process with argv."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.config import Config
from server.keys import load_keys
from signaling.roles import Role
from signaling.tokens import KeySet, verify_room_token


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("BALIE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BALIE_DATA_DIR", str(tmp_path))
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
