"""A booking process to be killed: ``python -m tests.server.db.crash_worker URL TENANT POINT``.

It holds Tuesday 10:00 for s1 (idempotency key ``crash``) and stops dead at ``POINT``:

- ``insert``: the appointment row is inserted, the transaction is open;
- ``audit``: the audit row is inserted too, the transaction is still open;
- ``commit``: the transaction has committed.

There it prints ``AT <point>`` and sleeps; the test SIGKILLs it. The pause is a SQLAlchemy
statement event, so the service runs unmodified.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from sqlalchemy import event

from server.booking.service import BookingService
from server.db import create_engine
from tests.server.db.support import T0, TUESDAY_10

STATEMENTS = {"insert": "INSERT INTO appointments", "audit": "INSERT INTO audit_events"}


def stop(point: str) -> None:
    sys.stdout.write(f"AT {point}\n")
    sys.stdout.flush()
    time.sleep(600)  # blocks the loop on purpose: nothing may run after this point


async def main(url: str, tenant: str, point: str) -> None:
    engine = create_engine(url)
    prefix = STATEMENTS.get(point)

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def pause(*args: Any) -> None:
        statement = args[2]
        if prefix is not None and statement.startswith(prefix):
            stop(point)

    booking = BookingService(engine, clock=lambda: T0)
    await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="crash")
    stop("commit")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
