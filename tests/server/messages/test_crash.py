"""Crash safety: ``balie serve`` killed (SIGKILL) at each step of sending a confirmation, then
started again, delivers it; nothing is lost.

The steps, as the SMTP server sees them: the MAIL command, the RCPT command, the DATA being
accepted, and the moment after the server said 250 but before Balie recorded it (its commit
held up by a lock the test takes on the database). Killed before the server accepted the
message, it arrives exactly once after the restart. Killed after, the server has it and the
restarted node sends it again, with the same Message-ID: the one window SMTP cannot close
(docs/messages.md, "Crash safety"); a mailbox that drops repeated Message-IDs shows it once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from server.db.engine import create_engine
from server.db.schema import outbox
from tests.server.booking.support import EMAIL, BookingClient, seed
from tests.server.messages.smtp import SmtpServer
from tests.server.messages.support import book
from tests.support import balie_serve, free_port

DEADLINE = 60.0  # only stops a broken test from hanging


async def wait_for(check: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("step", ["MAIL", "RCPT", "DATA", "COMMIT"])
async def test_a_node_killed_while_sending_delivers_the_mail_after_a_restart(
    tmp_path: Path, step: str
) -> None:
    database = tmp_path / "balie.db"
    env = {
        "BALIE_DEMO_DATA": "false",
        "BALIE_SMTP_HOST": "127.0.0.1",
        "BALIE_SMTP_SECURITY": "none",
        "BALIE_SMTP_TIMEOUT": "1",
        "BALIE_SMS_TIMEOUT": "1",
        "BALIE_OUTBOX_POLL_SECONDS": "0.2",
        "BALIE_OUTBOX_LEASE_SECONDS": "2",
    }
    port = free_port()
    lock: sqlite3.Connection | None = None
    with SmtpServer() as smtp:
        env["BALIE_SMTP_PORT"] = str(smtp.port)
        handler = smtp.handler
        handler.hold_at = "DATA" if step == "COMMIT" else step
        if step == "COMMIT":
            # The server accepts the message at once, then the test takes the database's write
            # lock, so Balie's commit of "sent" waits: it dies between the 250 and the commit.
            def take_lock() -> None:
                nonlocal lock
                lock = sqlite3.connect(
                    database, timeout=30, isolation_level=None, check_same_thread=False
                )
                lock.execute("BEGIN IMMEDIATE")
                handler.before_accept = None  # once: the resend after the restart goes through

            handler.before_accept = take_lock
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with balie_serve(tmp_path, env=env, port=port) as node:
                tenant = await seed(engine)
                start = (datetime.now(UTC) + timedelta(days=3)).replace(
                    hour=10, minute=0, second=0, microsecond=0
                )
                async with aiohttp.ClientSession() as http:
                    booked = await book(
                        BookingClient(node.url, http), tenant, start, {"email": EMAIL}
                    )
                appointment = str(booked["id"])

                async def holding() -> bool:
                    return handler.holding.is_set()

                await wait_for(holding, f"Balie reaching {step}")
                if step == "COMMIT":
                    handler.hold_at = None
                    handler.release.set()  # the 250 goes out; Balie now waits for the lock
                    await asyncio.sleep(0.5)
                node.process.kill()
                await node.process.wait()
            handler.hold_at = None
            handler.release.set()
            if lock is not None:
                lock.rollback()
                lock.close()

            async def sent() -> bool:
                async with engine.connect() as conn:
                    states = (
                        (
                            await conn.execute(
                                select(outbox.c.state).where(
                                    outbox.c.subject_id == appointment,
                                    outbox.c.template == "confirmation",
                                )
                            )
                        )
                        .scalars()
                        .all()
                    )
                return list(states) == ["sent"]

            async with balie_serve(tmp_path, env=env, port=port):
                await wait_for(sent, "the confirmation recorded as sent after the restart")
            async with engine.connect() as conn:
                (row,) = (
                    await conn.execute(
                        select(outbox).where(
                            outbox.c.subject_id == appointment,
                            outbox.c.template == "confirmation",
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        received = smtp.received
    assert row.state == "sent" and row.attempts == 2
    confirmations = [d for d in received if "Uw afspraak op" in str(d.message["Subject"])]
    assert {d.message_id for d in confirmations} == {f"<{row.id}@balie>"}
    if step in ("MAIL", "RCPT"):
        assert len(confirmations) == 1  # the server never had it before the crash
    else:
        assert len(confirmations) == 2  # accepted before the crash, sent again after it
