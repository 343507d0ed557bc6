"""The outbox worker: claims due messages, delivers them, records what happened.

Every node runs one (server/messages/setup.py); on PostgreSQL they share the work through
``SKIP LOCKED`` claims. A claim takes one message at a time under a lease
(server/messages/model.py): with several messages claimed at once, a slow mail server could
let the later ones' leases run out while they still wait, and another node would send them
too. :data:`CONCURRENCY` claimers per node keep a rush of confirmations moving.

The outcome of each attempt is written in its own transaction, compare-and-set on the
attempt it claimed. A crash at any point leaves the row ``pending`` (nothing was claimed) or
``sending`` with a lease that runs out, after which it is claimed again: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Final

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from server.config import MessagesSettings
from server.core.clock import Clock
from server.core.metrics import Metrics
from server.core.problems import DatabaseUnavailable
from server.db.tx import writing
from server.messages import outbox
from server.messages.delivery import Delivery, Outcome
from server.messages.errors import DeliveryDeferred, DeliveryRefused
from server.messages.model import Message, State
from server.messages.outbox import Job

log = logging.getLogger("balie.messages")

#: messages one node delivers at the same time
CONCURRENCY: Final = 4
#: an attempt's outcome, by the state it left the message in (the metric's label)
_OUTCOMES: Final = {
    State.SENT: "sent",
    State.PENDING: "deferred",
    State.FAILED: "failed",
    State.DROPPED: "skipped",
    State.SENDING: "unknown",  # never: finish leaves no message sending
}


class OutboxWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        delivery: Delivery,
        clock: Clock,
        settings: MessagesSettings,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._delivery = delivery
        self._clock = clock
        self._settings = settings
        self._wake = asyncio.Event()
        self._lease = timedelta(seconds=settings.lease_seconds)
        self.attempts = Counter(
            "balie_messages",
            "Delivery attempts of the outbox by channel (email, sms, calendar) and outcome "
            "(sent; deferred: tried again later; failed; skipped: not needed any more)",
            ("channel", "outcome"),
            registry=None if metrics is None else metrics.registry,
        )

    def wake(self) -> None:
        """Look for due messages now instead of at the next poll (after a commit)."""
        self._wake.set()

    async def run_due(self) -> int:
        """Deliver every message due now; the number of attempts made. Tests and the poll
        loop call it."""
        counts = await asyncio.gather(*(self._claimer() for _ in range(CONCURRENCY)))
        return sum(counts)

    async def run(self) -> None:
        """Forever (cancel the task to stop): wait for the next poll or a wake-up, then run
        what is due."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.run_due()
            except DatabaseUnavailable as error:
                log.warning("outbox: %s; trying again at the next poll", error)

    async def _claimer(self) -> int:
        done = 0
        while True:
            async with writing(self._engine) as conn:
                jobs = await outbox.claim_due(conn, self._clock(), limit=1, lease=self._lease)
            if not jobs:
                return done
            await self._attempt(jobs[0])
            done += 1

    async def _attempt(self, job: Job) -> None:
        claimed = job.message
        after: Message
        try:
            delivered = await self._delivery.deliver(job)
        except DeliveryRefused as error:
            after = claimed.refused(error.reason)
        except DeliveryDeferred as error:
            after = claimed.deferred(self._clock(), error.reason, self._settings.max_attempts)
        except Exception as error:  # a bug must not stop the other messages; named by type
            log.exception("outbox: message %s failed unexpectedly", claimed.id)
            reason = f"unexpected {type(error).__name__}"
            after = claimed.deferred(self._clock(), reason, self._settings.max_attempts)
        else:
            if delivered.outcome is Outcome.SENT:
                after = claimed.sent(self._clock())
            else:
                after = claimed.skipped(delivered.reason)
        async with writing(self._engine) as conn:
            recorded = await outbox.finish(conn, claimed, after, self._clock())
        self.attempts.labels(job.channel.value, _OUTCOMES[after.state]).inc()
        log.info(
            "outbox: %s %s of %s (attempt %d): %s%s",
            job.channel,
            job.template,
            job.subject_id,
            after.attempts,
            after.state,
            f" ({after.last_error})" if after.last_error else "",
        )
        if not recorded:
            log.warning("outbox: message %s was claimed again meanwhile", claimed.id)
