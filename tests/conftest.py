"""Suite-wide rules, and the fixtures of real servers more than one folder uses."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from tests.coturn import Coturn, running_coturn
from tests.redis_server import RedisServer, redis_server
from tests.server.db.support import create_postgres_database, drop_postgres_database

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    # In CI every tier must run: a skip (a missing browser, TURN server, ...)
    # means CI did not test what it claims, so it counts as a failure.
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # schemathesis names each operation's test "test_...[GET /path]", but on pytest 9 gives
    # them all one node id; pytest-xdist, which hands tests to its workers by node id, would
    # run one operation of tests/server/test_openapi.py and skip the rest without a word
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is not None and item._id.params is None:
            item._id = item._id.with_params(label)
    twice = sorted(nodeid for nodeid, n in Counter(i.nodeid for i in items).items() if n > 1)
    if twice:
        raise pytest.UsageError(f"tests that share a node id, which pytest-xdist drops: {twice}")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """A real coturn for the module's tests (TURN credentials, the device check)."""
    with running_coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start (tests/redis_server.py)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_server(directory) as server:
        yield server


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database of the test's own, dropped afterwards."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
