"""What booking counts for Prometheus: each life-cycle step by outcome, and lapsed holds.

:class:`CountedBookings` is the booking service the application runs: the same service,
each step counted in ``balie_booking_operations_total{operation, outcome}``, where the
outcome is ``ok`` or the booking error's kind (``slot-taken`` and the other conflicts,
``too-many-holds``, ``storage-unavailable``...): a bounded set, never an id.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import Appointment
from server.booking.errors import BookingError
from server.booking.service import BookingService
from server.core.metrics import Metrics

T = TypeVar("T")
_WORD_START: Final = re.compile(r"(?<!^)(?=[A-Z])")


def outcome_of(error: BaseException) -> str:
    """``SlotTaken`` -> ``slot-taken``; anything but a booking error is ``error``."""
    if not isinstance(error, BookingError):
        return "error"
    return _WORD_START.sub("-", type(error).__name__).lower()


class CountedBookings(BookingService):
    """The booking service, counting the outcome of each step of the life cycle."""

    def __init__(self, engine: AsyncEngine, *, metrics: Metrics, **settings: Any) -> None:
        super().__init__(engine, **settings)
        self.operations = Counter(
            "balie_booking_operations",
            "Booking steps by outcome: ok, or the refusal (slot-taken, stale-version, "
            "hold-expired and the other conflicts, too-many-holds, link-expired, ...)",
            ("operation", "outcome"),
            registry=metrics.registry,
        )
        self.expired = Counter(
            "balie_booking_holds_expired",
            "Holds that lapsed without being confirmed",
            registry=metrics.registry,
        )
        for operation in ("hold", "confirm", "release", "cancel", "reschedule"):
            self.operations.labels(operation, "ok")  # shown at zero before the first one

    async def _count(self, operation: str, step: Awaitable[T]) -> T:
        try:
            result = await step
        except Exception as error:
            self.operations.labels(operation, outcome_of(error)).inc()
            raise
        self.operations.labels(operation, "ok").inc()
        return result

    async def hold(self, *args: Any, **kwargs: Any) -> Appointment:
        return await self._count("hold", super().hold(*args, **kwargs))

    async def confirm(self, *args: Any, **kwargs: Any) -> Appointment:
        return await self._count("confirm", super().confirm(*args, **kwargs))

    async def release(self, *args: Any, **kwargs: Any) -> Appointment:
        return await self._count("release", super().release(*args, **kwargs))

    async def cancel(self, *args: Any, **kwargs: Any) -> Appointment:
        return await self._count("cancel", super().cancel(*args, **kwargs))

    async def reschedule(self, *args: Any, **kwargs: Any) -> Appointment:
        return await self._count("reschedule", super().reschedule(*args, **kwargs))

    async def open_manage_link(self, tenant_id: str, token: str) -> Appointment:
        return await self._count("manage-link", super().open_manage_link(tenant_id, token))

    async def expire_holds(self) -> int:
        expired = await super().expire_holds()
        self.expired.inc(expired)
        return expired
