"""The access log: one INFO line per request, except the polls pages make while someone
waits, which would otherwise write two lines a second for every waiting resident."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from server.core.logs import AccessLogger

POLLS = [
    "/irma-emulator/session/abc/status",
    "/irma-emulator/irma/session/abc/frontend/status",
    "/irma-emulator/irma/session/abc/status",
    "/api/rooms/r_1/verification",
    "/staff/session",
    "/staff/desk/state",
]


def _logged(caplog: pytest.LogCaptureFixture, method: str, path: str, status: int) -> int:
    caplog.clear()
    logger = logging.getLogger("balie.access.test")
    AccessLogger(logger, "").log(
        make_mocked_request(method, path), web.Response(status=status), 0.01
    )
    (record,) = caplog.records
    return record.levelno


@pytest.mark.parametrize("path", POLLS)
def test_a_poll_answered_well_is_a_debug_line(caplog: pytest.LogCaptureFixture, path: str) -> None:
    caplog.set_level(logging.DEBUG)
    assert _logged(caplog, "GET", path, 200) == logging.DEBUG
    # a refused poll, and every other request, is still an INFO line
    assert _logged(caplog, "GET", path, 401) == logging.INFO
    assert _logged(caplog, "POST", path, 200) == logging.INFO


def test_other_requests_are_info_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert _logged(caplog, "GET", "/afspraak/demo", 200) == logging.INFO
    assert _logged(caplog, "POST", "/api/rooms/r_1/verification/session", 200) == logging.INFO
