"""The booking contention benchmark runs and reports what it promises (tiny parameters).

Only that it runs, keeps the no-overlap invariant (it exits non-zero otherwise) and prints
its RESULT line; how fast belongs in bench/, never in a test.
"""

from __future__ import annotations

import pytest

from tests.bench.support import run_bench

pytestmark = pytest.mark.e2e


def test_booking_bench_measures_both_databases_and_the_ceilings() -> None:
    result = run_bench("bench/booking.py", "--k", "2", "10", "--attempts", "12", "--runs", "1")
    assert result["overlaps"] == "0"
    for backend in ("sqlite", "postgresql"):
        for k in (2, 10):
            assert float(result[f"{backend}_k{k}_bookings_per_s"]) > 0
            assert float(result[f"{backend}_k{k}_ceiling_tps"]) > 0
            assert float(result[f"{backend}_k{k}_ratio"]) > 0
    for k in (2, 10):  # PostgreSQL's own ceilings: asyncpg alone and pgbench
        assert float(result[f"postgresql_k{k}_asyncpg_tps"]) > 0
        assert float(result[f"postgresql_k{k}_pgbench_tps"]) > 0
        assert float(result[f"postgresql_k{k}_ratio_pgbench"]) > 0
