"""Liveness and readiness, for load balancers and orchestrators.

``/healthz`` says the process answers: restart it if not. ``/readyz`` says whether this node
can serve a call now: send it no new people if not. Each feature adds the checks of what it
depends on (the database, the bus between nodes, the identity verifier); a node that is
stopping is unready at once, so the balancer stops sending it people while its sockets
move elsewhere. Reasons name the part and how it failed, never a request's data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from server.core.tasks import failure

#: a check answers within this or counts as down: a hanging dependency is a down one
CHECK_TIMEOUT: Final = 2.0

#: None when ready, else a short reason ("draining", "unreachable: ConnectionRefusedError")
Check = Callable[[], Awaitable[str | None]]

READINESS: web.AppKey[list[tuple[str, Check]]] = web.AppKey("readiness")


def add_readiness_check(app: web.Application, name: str, check: Check) -> None:
    app[READINESS].append((name, check))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    checks = request.app[READINESS]
    outcomes = await asyncio.gather(*(_run(check) for _, check in checks))
    results = {name: outcome or "ok" for (name, _), outcome in zip(checks, outcomes, strict=True)}
    is_ready = all(outcome is None for outcome in outcomes)
    response = web.json_response(
        {"status": "ready" if is_ready else "unready", "checks": results},
        status=200 if is_ready else 503,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _run(check: Check) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as error:  # a check that fails is a part that is down
        return f"unreachable: {failure(error)}"
