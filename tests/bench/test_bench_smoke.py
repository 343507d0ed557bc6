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
    result = run_bench("-m", "bench.relay", "--quick", "--quiet-wait", "0", "--no-cross")
    for server in ("balie", "peerjs", "echo"):
        assert float(result[f"{server}_msgs_per_cpu_s_10"]) > 0
    assert float(result["ratio_balie_peer_10"]) > 0
    assert float(result["ratio_balie_ceiling_10"]) > 0
    assert "cross_p50_ms" not in result


def test_relay_bench_cross_node_arm_reports_added_latency_next_to_redis() -> None:
    result = run_bench(
        "-m", "bench.relay", "--quick", "--quiet-wait", "0", "--pairs", "2", "--servers", "balie"
    )
    assert result["cross_pairs"] == "2"
    for key in ("cross_msgs_per_s_2", "cross_p50_ms", "cross_p99_ms", "single_p50_ms"):
        assert float(result[key]) > 0
    for key in ("redis_rtt_ms", "redis_rtt_c_ms", "redis_publish_per_s_2"):
        assert float(result[key]) > 0
    assert float(result["redis_in_bytes_per_msg_2"]) > 0  # at least the joins
    # the nodes relay over their links: Redis carries the joins, not the messages
    assert result["links"] == "1"
    assert float(result["redis_publishes_per_msg_2"]) < 0.5, result
    for key in ("added_p50_ms", "added_vs_rtt", "cross_vs_single"):
        assert math.isfinite(float(result[key]))  # the added latency may be < 0 on a noisy run
    assert result["target_cross_met"] in ("yes", "no")
    assert "cross_errors_2" not in result
    # the paced arm: one node and two at the same fixed load, next to the pub/sub floor
    assert float(result["redis_pubsub_p50_ms"]) > 0
    assert result["paced_pairs"] == "2" and result["paced_rate"] == "500"
    for arm in ("single", "cross"):
        assert float(result[f"paced_{arm}_msgs_per_s"]) > 0
        assert float(result[f"paced_{arm}_p50_ms"]) > 0
        assert f"paced_{arm}_errors" not in result
    assert math.isfinite(float(result["paced_added_vs_rtt"]))
    assert result["target_paced_met"] in ("yes", "no")


def test_slots_bench_reports_both_sizes_and_the_ceiling() -> None:
    result = run_bench("bench/slots.py", "--quick")
    assert float(result["slots_100x28_ms"]) > 0
    assert float(result["slots_500x28_ms"]) > 0
    assert float(result["engine_over_ceiling_100x28"]) > 0


def test_bus_bench_reports_the_round_trip_pub_sub_the_bus_and_a_link(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        result = run_bench("-m", "bench.bus", "--quick", "--redis", redis.url)
    for arm in ("ping", "lean", "raw", "bus", "link"):
        assert float(result[f"{arm}_p50_us"]) > 0
    assert float(result["link_hop_us"]) == pytest.approx(float(result["link_p50_us"]) / 2, abs=1)
    assert math.isfinite(float(result["added_over_round_trip"]))  # may be < 0 on a noisy run


def test_setup_bench_reports_balie_next_to_the_direct_floor_and_chromium() -> None:
    result = run_bench("-m", "bench.setup", "--quick")
    assert float(result["direct_p50_ms"]) > 0
    assert float(result["balie_p50_ms"]) > 0
    assert float(result["ratio_p50"]) > 0
    assert result["target_ratio_met"] in ("yes", "no")
    assert result["chromium_runs"] == "3"
    assert float(result["chromium_p50_ms"]) > 0
    assert float(result["chromium_both_p50_ms"]) >= float(result["chromium_p50_ms"])
    assert result["target_chromium_met"] in ("yes", "no")


def test_pages_bench_reports_both_pages_next_to_hello_world() -> None:
    result = run_bench("-m", "bench.pages", "--quick", "--duration", "1", "--connections", "10")
    assert result["connections"] == "10"
    for arm in ("hello", "dates", "times"):
        assert float(result[f"{arm}_per_s"]) > 0
        assert float(result[f"{arm}_p99_ms"]) > 0
        assert result[f"{arm}_errors"] == "0"  # every answer a 200: a 404 would be fast
    for page in ("dates", "times"):
        assert float(result[f"{page}_vs_hello"]) > 0
        assert result[f"target_{page}_met"] in ("yes", "no")
