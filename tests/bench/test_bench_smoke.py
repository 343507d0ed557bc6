"""The benchmarks run on a clean checkout and report what they promise.

Only that they run and print their RESULT line with the headline keys: how
fast anything is belongs in bench/, never in a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.support import (
    run_bench,
)

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
