"""The token bucket, with the time passed in."""

from __future__ import annotations

import pytest

from signaling.ratelimit import TokenBucket


def allowed(bucket: TokenBucket, now: float, tries: int) -> int:
    return sum(bucket.allow(now) for _ in range(tries))


def test_burst_then_refuse() -> None:
    bucket = TokenBucket(rate=10, burst=5, now=0)
    assert allowed(bucket, 0, 20) == 5
    assert not bucket.allow(0)


# times and rates are binary fractions so that the arithmetic is exact


def test_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5, now=0)
    allowed(bucket, 0, 5)
    assert allowed(bucket, 0.25, 10) == 2  # 0.25 s * 10/s = 2.5 tokens
    assert allowed(bucket, 0.375, 10) == 1  # the half token left plus 1.25
    assert allowed(bucket, 0.375, 10) == 0


def test_refill_is_capped_at_the_burst() -> None:
    bucket = TokenBucket(rate=100, burst=3, now=0)
    allowed(bucket, 0, 3)
    assert allowed(bucket, 1000, 100) == 3


def test_time_going_backwards_adds_nothing() -> None:
    bucket = TokenBucket(rate=4, burst=2, now=100)
    allowed(bucket, 100, 2)
    assert allowed(bucket, 50, 5) == 0
    # and does not move the reference point back either
    assert allowed(bucket, 100.25, 5) == 1


def test_sustained_rate_is_kept() -> None:
    bucket = TokenBucket(rate=64, burst=1, now=0)
    passed = sum(bucket.allow(i / 1024) for i in range(10_240))  # 1,024 msg/s for 10 s
    assert passed == 640


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (1, 0), (1, 0.5)])
def test_invalid_parameters(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, now=0)
