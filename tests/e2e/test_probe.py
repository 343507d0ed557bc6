"""``balie probe`` against a real Balie on a loopback port: a whole call with two aiortc
peers, once direct and once relay-only through a real coturn; and one clear line and exit
status 1 when the server is down, when TURN is misconfigured, when the room cannot be
joined (a wrong probe secret, a foreign origin)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.call.appkeys import HUB
from server.config import Config
from server.probe.client import DONE, probe
from signaling.turn import IceSettings
from tests.coturn import Coturn
from tests.support import config_for, free_port, live_server

pytestmark = pytest.mark.e2e

SECRET = "probe-secret-" + "p" * 32
BALIE = str(Path(sys.executable).with_name("balie"))


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def balie_probe(url: str, *args: str, env: Mapping[str, str] | None = None) -> Ran:
    """The real command, in a process of its own (the server runs in this one's loop)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    process = await asyncio.create_subprocess_exec(
        BALIE,
        "probe",
        url,
        *args,
        env=clean | ({"BALIE_PROBE_SECRET": SECRET} if env is None else dict(env)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def one_line(ran: Ran) -> str:
    """A failed probe's stderr: exactly one line."""
    assert ran.code == 1, ran
    (line,) = ran.err.splitlines()
    return line


def with_turn(tmp_path: Path, coturn: Coturn, secret: str) -> Config:
    return config_for(
        tmp_path,
        probe_secret=SECRET,
        ice=IceSettings(
            turn_urls=(f"turn:127.0.0.1:{coturn.port}?transport=udp",),
            turn_secret=secret,
            turn_ttl=600,
        ),
    )


async def test_a_whole_call_direct_step_by_step(tmp_path: Path) -> None:
    async with live_server(tmp_path, config=config_for(tmp_path, probe_secret=SECRET)) as server:
        ran = await balie_probe(server.url)
        assert ran.code == 0, ran.out + ran.err
        assert ran.err == ""
        lines = ran.out.splitlines()
        assert lines[0] == f"balie probe {server.url}"
        assert [line.split()[0] for line in lines[1:-1]] == list(DONE)
        assert "ms  both peer connections connected (direct; candidates host" in lines[5]
        assert lines[-1].startswith("ok: a whole call in ")

        report = await probe(server.url, SECRET)
        assert report.ok, report.error
        assert [step.name for step in report.steps] == list(DONE)
        assert all(step.seconds >= 0 for step in report.steps)
        # the specialist ended the call: no room is left behind
        registry = server.app[HUB].registry
        for _ in range(200):  # the server closes it as soon as it reads the `end`
            if not registry.rooms:
                break
            await asyncio.sleep(0.05)
        assert registry.rooms == {}


async def test_relay_only_through_coturn_in_json(tmp_path: Path, coturn: Coturn) -> None:
    config = with_turn(tmp_path, coturn, coturn.secret)
    async with live_server(tmp_path, config=config) as server:
        ran = await balie_probe(server.url, "--relay-only", "--json")
    assert ran.code == 0, ran.out + ran.err
    report = json.loads(ran.out)
    assert report["ok"] is True and report["relay_only"] is True
    assert [step["step"] for step in report["steps"]] == list(DONE)
    assert all(isinstance(step["ms"], int) for step in report["steps"])
    ice = report["steps"][4]["detail"]
    # both sides offered relay candidates only, and the pair that carried the call is relayed
    assert ice == "both peer connections connected (relay; candidates relay)"
    assert report["total_ms"] == pytest.approx(sum(s["ms"] for s in report["steps"]), abs=6)


async def test_the_server_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ran = await balie_probe(url)
    line = one_line(ran)
    assert line.startswith(f"balie probe: room: cannot reach {url}: ")
    assert "refused" in line.lower()
    assert ran.out.splitlines() == [f"balie probe {url}"]  # no step done


async def test_turn_is_misconfigured(tmp_path: Path, coturn: Coturn) -> None:
    """Balie mints TURN credentials with another secret than coturn's."""
    config = with_turn(tmp_path, coturn, "not-" + coturn.secret)
    async with live_server(tmp_path, config=config) as server:
        ran = await balie_probe(server.url, "--relay-only")
        direct = await balie_probe(server.url)
    line = one_line(ran)
    assert line.startswith("balie probe: ice: no TURN relay candidate on the specialist's side")
    assert "BALIE_TURN_SECRET" in line
    assert [step.split()[0] for step in ran.out.splitlines()[1:]] == [
        "room",
        "connect",
        "join",
        "admit",
    ]
    assert direct.code == 0, direct.err  # the direct path does not need TURN


async def test_relay_only_without_turn_says_there_is_none(tmp_path: Path) -> None:
    async with live_server(tmp_path, config=config_for(tmp_path, probe_secret=SECRET)) as server:
        ran = await balie_probe(server.url, "--relay-only")
    assert "no TURN URL (BALIE_TURN_URLS)" in one_line(ran)


async def test_the_room_cannot_be_joined_with_a_wrong_probe_secret(tmp_path: Path) -> None:
    async with live_server(tmp_path, config=config_for(tmp_path, probe_secret=SECRET)) as server:
        ran = await balie_probe(server.url, env={"BALIE_PROBE_SECRET": SECRET + "-other"})
        off = await balie_probe(server.url, env={})
    line = one_line(ran)
    assert line.startswith("balie probe: room: the probe secret was refused (401)")
    assert "no room can be joined" in line
    assert SECRET not in ran.out + ran.err
    assert off.code == 2 and "no probe secret" in off.err


async def test_probing_off_on_the_server(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        ran = await balie_probe(server.url)
    assert "probing is off there (set BALIE_PROBE_SECRET on every node)" in one_line(ran)


async def test_a_page_origin_the_server_does_not_allow(tmp_path: Path) -> None:
    config = config_for(tmp_path, probe_secret=SECRET, allowed_origins=("https://elders.example",))
    async with live_server(tmp_path, config=config) as server:
        ran = await balie_probe(server.url)
    line = one_line(ran)
    assert line.startswith("balie probe: connect: the WebSocket was refused (403)")
    assert server.url in line
