"""A Balie that sends its e-mail to a real SMTP server (aiosmtpd), for the browser tests that
follow a message: ``smtp`` and ``mailing_balie`` (import both names into the test module)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.server.messages.smtp import SmtpServer, smtp_settings
from tests.support import LiveServer, config_for, live_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def mailing_balie(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[LiveServer]:
    """The demo Balie sending to ``smtp``. The test delivers what is due itself
    (``app[OUTBOX].run_due()``); the worker's own loop is `balie serve`'s, which
    tests/server/messages/test_crash.py runs."""
    config = config_for(tmp_path, messages=smtp_settings(smtp.port))
    async with live_server(tmp_path, config=config) as running:
        yield running
