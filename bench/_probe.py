"""Run a server module with a memory probe, for bench/connections.py.

    python -m bench._probe -m MODULE ARGS...      (e.g. -m server.cli serve --port P)

The module runs as ``python -m MODULE ARGS...`` would, in this process (same pid, so the
parent reads its memory from /proc). Set ``BENCH_PROBE_DIR`` to a directory; then each
SIGUSR1 makes the process

1. collect garbage (``gc.collect()``, every generation), and
2. with ``BENCH_PROBE_TRACE=1``, dump a tracemalloc snapshot (tracing started before the
   module was imported, one frame per allocation) to ``snapshot-K`` in that directory,
3. write ``ack-K`` there (K counts the signals from 1), so the parent knows it is done.

Both files appear with a rename, whole. The handler runs in the main thread between two
bytecodes of whatever the server does: nothing of the server is changed.
"""

from __future__ import annotations

import gc
import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

_count = 0


def _write(path: Path, data: bytes) -> None:
    part = path.with_suffix(".part")
    part.write_bytes(data)
    part.rename(path)


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    global _count
    _count += 1
    folder = Path(os.environ["BENCH_PROBE_DIR"])
    collected = gc.collect()
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        part = folder / f"snapshot-{_count}.part"
        snapshot.dump(str(part))
        part.rename(folder / f"snapshot-{_count}")
    _write(folder / f"ack-{_count}", f"{collected}\n".encode())


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] != "-m":
        sys.exit("usage: python -m bench._probe -m MODULE [ARGS...]")
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    if os.environ.get("BENCH_PROBE_TRACE") == "1":
        tracemalloc.start(1)
    if os.environ.get("BENCH_PROBE_DIR"):
        signal.signal(signal.SIGUSR1, _on_signal)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
