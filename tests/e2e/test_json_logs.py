"""``balie serve`` with ``BALIE_LOG_FORMAT=json`` and a metrics port, as an operator runs it:
every line it logs is one JSON object, the access log's line carries the request id its
answer sent, a room's page is logged by the room's reference, and the metrics listener
answers on its own port while the public one has no /metrics."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.support import balie_serve, free_port

pytestmark = pytest.mark.e2e

LOG_KEY = bytes(range(32))
ROOM = "r_SomeRoomIdOfTheTest000"


async def test_balie_serve_writes_json_lines_and_serves_metrics_apart(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = {
        "BALIE_LOG_FORMAT": "json",
        "BALIE_LOG_KEY": base64.b64encode(LOG_KEY).decode(),
        "BALIE_METRICS_PORT": str(metrics_port),
    }
    async with balie_serve(tmp_path, env=env) as balie, aiohttp.ClientSession() as http:
        async with http.get(f"{balie.url}/call/{ROOM}") as page:
            assert page.status == 200
            request_id = page.headers["X-Request-Id"]
        async with http.get(balie.url + "/metrics") as public:
            assert public.status == 404
        async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as scraped:
            assert scraped.status == 200
            metrics = await scraped.text()
        assert 'route="/call/{room_id}"' in metrics
        for _ in range(100):  # the access log's line follows the answer
            if any(request_id in line for line in balie.lines):
                break
            await asyncio.sleep(0.05)
        logged = list(balie.lines)

    # the lines Balie logged (the demo links and accounts are printed, not logged)
    entries = [orjson.loads(line) for line in logged if line.startswith("{")]
    assert not [line for line in logged if re.match(r"\d{4}-\d\d-\d\dT", line)]  # no text lines
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    (access,) = [e for e in entries if e.get("request") == request_id]
    reference = "rm-" + hmac.new(LOG_KEY, ROOM.encode(), hashlib.sha256).hexdigest()[:12]
    assert access["logger"] == "aiohttp.access" and access["room"] == reference
    assert access["message"].startswith(f"GET /call/{reference} 200")
    assert ROOM not in "\n".join(logged)
