"""The application factory: core first, then each feature's ``setup(app)``.

Each feature owns its routes, keys and contexts. The order matters for the contexts they
add: they start in this order and stop in reverse, so the database opens first and closes
last. What the call hub asks of other features comes in as one value, :class:`HubHooks`,
built here rather than set on the hub from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from server.booking import checkin
from server.booking.setup import setup as setup_booking
from server.call.hub import HubHooks
from server.call.setup import setup as setup_call
from server.config import Config
from server.core.clock import Clock, utc_now
from server.core.setup import setup as setup_core
from server.db.setup import setup as setup_db
from server.messages import setup as messages
from server.municipality.setup import setup as setup_municipality
from server.probe.setup import setup as setup_probe
from server.resident.setup import setup as setup_resident
from server.staff.setup import setup as setup_staff
from server.verification import setup as verification
from server.walkin import setup as walkin
from signaling.bus import MessageBus
from signaling.tokens import KeySet

#: the largest HTTP body we accept; pages post small forms only
MAX_BODY = 256 * 1024


def create_app(
    config: Config,
    *,
    keys: KeySet | None = None,
    bus: MessageBus | None = None,
    clock: Clock = utc_now,
) -> web.Application:
    """Build the application; ``keys`` and ``bus`` default to the configured ones (the bus:
    Redis with ``BALIE_REDIS_URL``, else in-process), ``clock`` to the real time (tests pass
    one they move)."""
    app = web.Application(client_max_size=MAX_BODY)
    setup_core(app, config, keys=keys, clock=clock)
    setup_db(app)
    setup_call(
        app,
        HubHooks(
            admission=verification.admission(app),
            on_seated=all_of(checkin.on_seated(app), walkin.on_seated(app)),
            on_room_closed=all_of(verification.on_room_closed(app), walkin.on_room_closed(app)),
        ),
        bus=bus,
    )
    setup_booking(app)
    messages.setup(app)
    verification.setup(app)
    walkin.setup(app)
    setup_resident(app)
    setup_municipality(app)
    setup_staff(app)
    setup_probe(app)
    return app


T = TypeVar("T")


def all_of(
    *hooks: Callable[[T], Coroutine[Any, Any, None]],
) -> Callable[[T], Coroutine[Any, Any, None]]:
    """One hook that runs each of ``hooks`` in turn (each catches and logs its own errors)."""

    async def each(value: T) -> None:
        for hook in hooks:
            await hook(value)

    return each
