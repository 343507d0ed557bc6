"""The walk-in counter's gauges: how many wait, are away and are being served, by channel,
how long the longest-waiting resident has waited, and how many call-backs are open.

They are read from the database by the walk-in housekeeping task (every 30 s), so they are
the deployment's numbers, the same on every node: take ``max(...)`` across nodes, not
``sum(...)``. Labels come from a fixed set (the channels and states); no tenant, purpose or
ticket ids.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.metrics import Metrics
from server.db.schema import walkin_callbacks, walkin_tickets
from server.db.tx import reading
from server.walkin.callbacks import CallbackState
from server.walkin.queue import TicketState
from signaling.channels import Channel

t = walkin_tickets.c
LIVE = (TicketState.WAITING, TicketState.AWAY, TicketState.TAKEN)


class WalkinMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.tickets = Gauge(
            "balie_walkin_tickets",
            "Walk-in residents in the queue (waiting, away) or being served (taken), by "
            "channel, in the whole deployment",
            ("state", "channel"),
            registry=metrics.registry,
        )
        self.longest_wait = Gauge(
            "balie_walkin_longest_wait_seconds",
            "How long the longest-waiting walk-in resident has waited, in the whole deployment",
            registry=metrics.registry,
        )
        self.callbacks_open = Gauge(
            "balie_walkin_callbacks_open",
            "Call-back requests not yet called back, in the whole deployment",
            registry=metrics.registry,
        )
        for state in LIVE:
            for channel in Channel:
                self.tickets.labels(state.value, channel.value)  # shown at zero

    async def refresh(self, engine: AsyncEngine, now: datetime) -> None:
        async with reading(engine) as conn:
            counts = await conn.execute(
                select(t.state, t.channel, func.count())
                .where(t.state.in_([s.value for s in LIVE]))
                .group_by(t.state, t.channel)
            )
            found = {(state, channel): int(count) for state, channel, count in counts}
            oldest = (
                await conn.execute(
                    select(func.min(t.arrived_at)).where(t.state == TicketState.WAITING.value)
                )
            ).scalar()
            open_callbacks = (
                await conn.execute(
                    select(func.count()).where(walkin_callbacks.c.state == CallbackState.OPEN.value)
                )
            ).scalar_one()
        for state in LIVE:
            for channel in Channel:
                count = found.get((state.value, channel.value), 0)
                self.tickets.labels(state.value, channel.value).set(count)
        waited = 0.0 if oldest is None else (now - oldest).total_seconds()
        self.longest_wait.set(max(waited, 0.0))
        self.callbacks_open.set(int(open_callbacks))
