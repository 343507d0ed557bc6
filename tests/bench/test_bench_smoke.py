"""The benchmarks run on a clean checkout and report what they promise.

Only that they run and print their RESULT line with the headline keys: how
fast anything is belongs in bench/, never in a test.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.bench.support import (
    run_bench,
)
from tests.redis_server import redis_server

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_relay_bench_measures_balie_peerjs_and_the_echo_ceiling() -> None:
    result = run_bench("-m", "bench.relay", "--quick", "--quiet-wait", "0")
    for server in ("balie", "peerjs", "echo"):
        assert float(result[f"{server}_msgs_per_cpu_s_10"]) > 0
    assert float(result["ratio_balie_peer_10"]) > 0
    assert float(result["ratio_balie_ceiling_10"]) > 0


def test_slots_bench_reports_both_sizes_and_the_ceiling() -> None:
    result = run_bench("bench/slots.py", "--quick")
    assert float(result["slots_100x28_ms"]) > 0
    assert float(result["slots_500x28_ms"]) > 0
    assert float(result["engine_over_ceiling_100x28"]) > 0


def test_bus_bench_reports_the_round_trip_raw_pub_sub_and_the_bus(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        result = run_bench("-m", "bench.bus", "--quick", "--redis", redis.url)
    for arm in ("ping", "raw", "bus"):
        assert float(result[f"{arm}_p50_us"]) > 0
    assert math.isfinite(float(result["added_over_round_trip"]))  # may be < 0 on a noisy run


def test_setup_bench_reports_balie_next_to_the_direct_floor() -> None:
    result = run_bench("-m", "bench.setup", "--quick")
    assert float(result["direct_p50_ms"]) > 0
    assert float(result["balie_p50_ms"]) > 0
    assert float(result["ratio_p50"]) > 0
