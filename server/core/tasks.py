"""Background work that repeats: one helper for every sweeper, reaper and housekeeper.

Each task is one ``cleanup_ctx`` (aiohttp's ``examples/background_tasks.py``): started with
the application, cancelled cleanly when it stops. A failed run is retried at the next
interval; a failure that goes away by itself (the database or the network briefly gone) is
one WARNING line with its type, anything else is logged with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

import sqlalchemy.exc
from aiohttp import web

from server.core.problems import Unavailable

log = logging.getLogger("balie.tasks")

CleanupContext = Callable[[web.Application], AsyncIterator[None]]

#: the database went away or stopped answering (a request meeting one answers 503)
DATABASE_LOST: Final = (
    ConnectionError,
    TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
#: failures that pass without anyone doing anything: the next run retries
TRANSIENT: Final = (OSError, *DATABASE_LOST)


def innermost(error: BaseException) -> BaseException:
    """The first cause of a wrapped error (the socket's ``ConnectionRefusedError`` inside the
    driver's error inside SQLAlchemy's): what a log line names, by its type."""
    seen = error
    for _ in range(16):  # a chain that loops back on itself ends somewhere too
        inner = getattr(seen, "orig", None) or seen.__cause__
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    return seen


def failure(error: BaseException) -> str:
    """The type of what failed at the bottom of ``error``; never a message, which can quote
    a statement's parameters."""
    return type(innermost(error)).__name__


def is_transient(error: BaseException) -> bool:
    """A transient failure, or one raised because of it (a service's own error type)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (*TRANSIENT, Unavailable)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def periodic(
    interval: float, work: Callable[[web.Application], Awaitable[object]], *, what: str
) -> CleanupContext:
    """A ``cleanup_ctx`` that runs ``work(app)`` every ``interval`` seconds while the app runs.

    ``what`` names the work in the log ("sweeping the vault").
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(_repeat(app, interval, work, what))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    context.__name__ = f"periodic({what})"
    return context


async def _repeat(
    app: web.Application,
    interval: float,
    work: Callable[[web.Application], Awaitable[object]],
    what: str,
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await work(app)
        except Exception as error:
            if is_transient(error):
                log.warning("%s failed (%s); retrying in %g s", what, failure(error), interval)
            else:
                log.exception("%s failed; retrying in %g s", what, interval)
