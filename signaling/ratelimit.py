"""A token bucket per connection, free of clocks: the caller passes the time."""

from __future__ import annotations


class TokenBucket:
    """Allows ``rate`` messages per second on average and bursts of ``burst``."""

    __slots__ = ("_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def allow(self, now: float) -> bool:
        """Take one token if there is one."""
        tokens = self._tokens
        elapsed = now - self._updated
        if elapsed > 0:
            # an if, not min(): this runs for every frame a client sends
            tokens += elapsed * self.rate
            if tokens > self.burst:
                tokens = self.burst
            self._updated = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return True
        self._tokens = tokens
        return False
