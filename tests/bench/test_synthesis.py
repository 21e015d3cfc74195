"""The synthesis benchmark in a short run: both processes report, and the figures are sane."""

from __future__ import annotations

import re
import subprocess
import sys

from bench import synthesis_corpus


def test_the_benchmark_reports_both_runs_and_the_planted_themes() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.synthesis", "--sizes", "60"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (line,) = [row for row in run.stdout.splitlines() if "sessions |" in row]
    found = re.search(
        r"^\s*60 sessions \| rapport\s+([\d.]+) s .*?(\d+) MB, (\d+) themes, F1 ([\d.]+) \| "
        r"baseline\s+([\d.]+) s\s+(\d+) MB .* re-run \+1: [\d.]+ s, read (\d+), reused (\d+)",
        line,
    )
    assert found is not None, line
    seconds, peak, themes, f1, base_seconds, base_peak, read, reused = found.groups()
    assert float(seconds) > 0 and float(base_seconds) > 0 and int(peak) > 0 < int(base_peak)
    # The run found themes and the planted ones among them (the corpus is seeded: a drop
    # below this is a change in the engine or the corpus, not noise).
    assert 1 <= int(themes) <= 2 * len(synthesis_corpus.THEMES) and float(f1) >= 0.5, line
    # The re-run read only the one session added, and took the rest from their readings.
    assert (int(read), int(reused)) == (1, 60), line
