"""What the leak checks read: every log line a test caught, both as the readable lines of
the default format and as the JSON lines of ``BALIE_LOG_FORMAT=json``, and a node's
``/metrics`` exposition. A personal detail, token or credential must be in none of them."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from server.core.logs import JsonFormatter
from server.core.metrics import METRICS


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The caught records as text lines, then the same records as JSON lines."""
    formatter = JsonFormatter()
    return "\n".join([caplog.text, *(formatter.format(record) for record in caplog.records)])


def json_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = JsonFormatter()
    return [formatter.format(record) for record in caplog.records]


def metrics_text(app: web.Application) -> str:
    """What a scrape of this node's metrics listener would read."""
    body, _ = app[METRICS].render()
    return body.decode()


def metrics_labels(app: web.Application) -> str:
    """The exposition without its sample values: names, labels and help texts, where a
    personal detail could hide. A number such as a ``_created`` timestamp may contain any
    run of digits (``1.7965852422000000e+09``), so digit checks read this, not the values."""
    return re.sub(r" \S+$", "", metrics_text(app), flags=re.MULTILINE)
