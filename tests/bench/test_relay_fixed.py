"""The relay bench's fixed-load arm and issue 15's headline keys (bench/relay.py,
bench/_paced.py). How fast anything is belongs in bench/, never in a test."""

from __future__ import annotations

import pytest

from bench import relay
from bench.relay import Sample, fixed_rate, parse_args
from tests.bench.support import run_bench


def sample(server: str, pairs: int, delivered: int) -> Sample:
    return Sample(
        server=server,
        pairs=pairs,
        delivered=delivered,
        window_s=1.0,
        server_cpu_s=1.0,
        loadgen_cpu_s=0.5,
        loadgen_cores=1,
        p50_ms=1.0,
        p99_ms=2.0,
        errors=0,
    )


def test_the_fixed_rate_is_half_balies_median_rate_at_the_largest_n() -> None:
    cfg = parse_args(["--pairs", "10,100"])
    samples = [
        sample("balie", 100, 30_000),
        sample("balie", 100, 40_000),
        sample("balie", 100, 20_000),
        sample("balie", 10, 90_000),  # another N
        sample("peerjs", 100, 90_000),  # another server
    ]
    assert fixed_rate(cfg, samples) == relay.FIXED_SHARE * 30_000
    assert fixed_rate(cfg, []) is None  # Balie left out: no arm


def test_a_given_fixed_rate_wins() -> None:
    cfg = parse_args(["--fixed-rate", "1234"])
    assert fixed_rate(cfg, [sample("balie", 100, 30_000)]) == 1234.0


def test_the_fixed_arm_can_be_left_out() -> None:
    assert parse_args([]).fixed
    assert not parse_args(["--no-fixed"]).fixed
    with pytest.raises(SystemExit):
        parse_args(["--fixed-rate", "0"])


@pytest.mark.e2e
def test_relay_bench_reports_the_fixed_load_arm_and_issue_15s_targets() -> None:
    result = run_bench(
        "-m",
        "bench.relay",
        "--quick",
        "--quiet-wait",
        "0",
        "--no-cross",
        "--servers",
        "balie,peerjs",
        "--pairs",
        "100",
    )
    assert float(result["fixed_rate"]) > 0
    assert result["fixed_pairs"] == "100"
    for server in ("balie", "peerjs"):
        assert float(result[f"{server}_fixed_p50_ms"]) > 0
        assert float(result[f"{server}_fixed_p99_ms"]) >= float(result[f"{server}_fixed_p50_ms"])
        assert float(result[f"{server}_fixed_msgs_per_s"]) > 0
        assert f"{server}_fixed_errors" not in result
    assert result["target_p99_met"] in ("yes", "no")
    assert float(result["balie_vs_peerjs"]) > 0
    assert result["target_ratio_met"] in ("yes", "no")
