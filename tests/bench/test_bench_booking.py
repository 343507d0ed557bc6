"""The booking benchmark runs and reports what it promises (tiny parameters).

Only that it runs, keeps the invariants (one winner per raced slot, no overlap: it exits
non-zero otherwise) and prints its RESULT line; how fast belongs in bench/, never in a test.
"""

from __future__ import annotations

import pytest

from tests.bench.support import run_bench

pytestmark = pytest.mark.e2e


def test_booking_bench_measures_both_databases_contention_and_the_ceilings() -> None:
    result = run_bench(
        "bench/booking.py", "--quick", "--k", "4", "--bookings", "12", "--contenders", "5"
    )
    assert result["overlaps"] == "0"
    assert result["k"] == "4"
    for backend in ("sqlite", "pg"):
        assert float(result[f"{backend}_distinct_per_s"]) > 0
        assert result[f"{backend}_distinct_failed"] == "0"  # distinct slots: nothing refused
        for key in ("distinct_p50_ms", "distinct_p99_ms", "contention_loser_p99_ms"):
            assert float(result[f"{backend}_{key}"]) > 0
        assert float(result[f"{backend}_ceiling_per_s"]) > 0
        assert float(result[f"{backend}_vs_ceiling"]) > 0
        assert result[f"target_{backend}_met"] in ("yes", "no")
    for ceiling in ("raw", "pgbench"):  # PostgreSQL's own ceilings: asyncpg alone and pgbench
        assert float(result[f"pg_{ceiling}_per_s"]) > 0
        assert float(result[f"pg_vs_{ceiling}"]) > 0
    assert float(result["contention_loser_p99_ms"]) > 0
    assert result["target_contention_met"] in ("yes", "no")


def test_booking_bench_can_name_the_staff_member() -> None:
    result = run_bench(
        "bench/booking.py", "--quick", "--backends", "sqlite", "--pick", "named", "--k", "3",
        "--bookings", "6", "--contenders", "3", "--rounds", "1",
    )  # fmt: skip
    assert result["pick"] == "named"
    assert result["sqlite_distinct_failed"] == "0"
    assert "pg_distinct_per_s" not in result
