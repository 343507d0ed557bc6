"""One serving node per database: a second Balie on the same database refuses to start and
says why, instead of splitting rooms between two processes without a word (issue: a
resident waiting on one node, the specialist's "admit" answering ``unknown-peer`` on the
other). The claim ends with the node, also when it is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from server.config import DatabaseSettings
from server.db.sole_node import AnotherNodeRunning
from tests.support import balie_serve, config_for, free_port, live_server

BALIE = str(Path(sys.executable).with_name("balie"))


async def test_a_second_node_on_the_same_sqlite_database_refuses_to_start(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as first:
        with pytest.raises(AnotherNodeRunning, match=f"process {os.getpid()}"):
            async with live_server(tmp_path):
                pass
        async with aiohttp.ClientSession() as http, http.get(first.url + "/healthz") as answer:
            assert answer.status == 200  # the first node is untouched
    async with live_server(tmp_path) as again:  # stopped: its claim is gone
        assert again.app is not None


async def test_a_second_node_on_the_same_postgresql_database_refuses_to_start(
    tmp_path: Path, postgres_url: str
) -> None:
    database = DatabaseSettings(url=postgres_url, demo_data=True)
    async with live_server(tmp_path / "a", config=config_for(tmp_path / "a", database=database)):
        second = config_for(tmp_path / "b", database=database)
        with pytest.raises(AnotherNodeRunning, match="PostgreSQL database"):
            async with live_server(tmp_path / "b", config=second):
                pass
    async with live_server(tmp_path / "b", config=config_for(tmp_path / "b", database=database)):
        pass  # the first has stopped: the database is free


def _balie(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    environment |= {"BALIE_DATA_DIR": str(data_dir), **env}
    return subprocess.run(
        [BALIE, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_second_balie_serve_says_so_in_one_line_before_printing_anything(
    tmp_path: Path, database_url: str
) -> None:
    env = {"BALIE_DATABASE_URL": database_url} if database_url else {}
    async with balie_serve(tmp_path / "first", env=env):
        # SQLite: the same data directory is the same database; PostgreSQL: the same URL
        data_dir = tmp_path / ("second" if database_url else "first")
        refused = await asyncio.to_thread(
            _balie, data_dir, "serve", "--port", str(free_port()), **env
        )
        # what an operator does beside a running node still works
        created = await asyncio.to_thread(_balie, tmp_path / "first", "room", "create", **env)
        assert created.returncode == 0, created
    assert refused.returncode == 2, refused
    assert refused.stdout == ""  # no links, no accounts: nothing that looks like it started
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "another Balie node" in lines[0] and "one node per database" in lines[0]


async def test_a_killed_node_leaves_the_database_free(tmp_path: Path) -> None:
    async with balie_serve(tmp_path, stop=signal.SIGKILL):
        pass  # SIGKILL: no clean-up of its own runs
    async with balie_serve(tmp_path) as again:
        async with aiohttp.ClientSession() as http, http.get(again.url + "/healthz") as answer:
            assert answer.status == 200
