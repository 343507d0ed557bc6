"""The held-sockets benchmark runs and reports what it promises (tiny parameters).

Only that it runs and prints its RESULT line with the headline keys; how much memory a
socket costs belongs in bench/, never in a test.
"""

from __future__ import annotations

import pytest

from tests.bench.support import run_bench

pytestmark = pytest.mark.e2e


def test_connections_bench_reports_memory_and_accept_rate_next_to_the_ceiling() -> None:
    result = run_bench(
        "-m", "bench.connections", "--quick", "--connections", "200", "--warmup", "10"
    )
    assert result["connections"] == "200"
    for kind in ("idle", "joined"):
        for server in ("balie", "echo"):
            float(result[f"{server}_{kind}_kb"])  # RSS moves in pages: any value, but a number
            assert float(result[f"{server}_{kind}_per_s"]) > 0
            assert f"{server}_{kind}_errors" not in result
        for ratio in ("kb", "per_s", "per_cpu_s"):
            float(result[f"ratio_{kind}_{ratio}"])
        assert result[f"target_{kind}_met"] in ("yes", "no")
