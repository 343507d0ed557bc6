"""Background work that repeats: a database gone for a moment is one WARNING line and a retry
at the next run; a real bug is still logged with its traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sqlalchemy.exc
from aiohttp import web

from server.core.tasks import periodic
from server.db.tx import DatabaseUnavailable

INTERVAL = 0.01


async def _run(work_errors: list[BaseException | None], caplog: pytest.LogCaptureFixture) -> int:
    """Run a periodic task whose runs raise ``work_errors`` in turn; how many runs there were."""
    runs = 0
    finished = asyncio.Event()

    async def work(app: web.Application) -> None:
        nonlocal runs
        runs += 1
        if runs >= len(work_errors):
            finished.set()
        error = work_errors[min(runs, len(work_errors)) - 1]
        if error is not None:
            raise error

    app = web.Application()
    context = periodic(INTERVAL, work, what="sweeping the vault")(app)
    await context.__anext__()
    await asyncio.wait_for(finished.wait(), 10)
    with pytest.raises(StopAsyncIteration):
        await context.__anext__()
    return runs


async def test_a_lost_database_is_one_warning_line_and_the_next_run_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="balie.tasks")
    lost = sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError())
    wrapped = DatabaseUnavailable("the database cannot be written (OperationalError)")
    runs = await _run([lost, wrapped, None], caplog)
    assert runs >= 3
    records = [r for r in caplog.records if r.name == "balie.tasks"]
    assert [r.levelno for r in records[:2]] == [logging.WARNING, logging.WARNING]
    assert all(r.exc_info is None for r in records)
    # named by what failed underneath SQLAlchemy's wrapping: the socket's refusal
    assert "sweeping the vault failed (ConnectionRefusedError)" in records[0].getMessage()


async def test_a_bug_is_an_error_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="balie.tasks")
    await _run([KeyError("bug"), None], caplog)
    (record,) = [r for r in caplog.records if r.name == "balie.tasks"][:1]
    assert record.levelno == logging.ERROR and record.exc_info is not None
