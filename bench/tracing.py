"""Optional tracemalloc for a benchmarked server process (used by both servers' factories).

With BENCH_TRACEMALLOC=<dir> in its environment, the process traces memory and every SIGUSR1
writes a snapshot to <dir>/snapshot-<n>.pickle. Tracing inflates RSS, so a run that traces
reports distorted KB-per-stream figures; use it to see *where* memory goes, not how much.
"""

from __future__ import annotations

import itertools
import os
import signal
import tracemalloc
from pathlib import Path
from typing import Any


def trace_memory_from_env() -> None:
    directory = os.environ.get("BENCH_TRACEMALLOC")
    if not directory:
        return
    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))
    counter = itertools.count(1)

    def dump(_signum: int, _frame: Any) -> None:
        path = Path(directory) / f"snapshot-{next(counter)}.pickle"
        tracemalloc.take_snapshot().dump(str(path))

    signal.signal(signal.SIGUSR1, dump)
