"""The voice benchmark in a short run: every part reports, and its figures are sane."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def figures(text: str, label: str) -> list[float]:
    """The numbers on the report's line that starts with `label`."""
    line = next(line for line in text.splitlines() if line.strip().startswith(label))
    return [float(n) for n in re.findall(r"-?\d+\.\d+", line[len(label) + 1 :])]


def test_the_benchmark_reports_each_part() -> None:
    # In a process of its own, as it is run: it configures logging for the process (to the
    # stderr of the moment), which must not outlive it in the test session's loggers.
    args = ["--sessions", "2", "--turns", "2", "--local-turns", "1"]
    run = subprocess.run(
        [sys.executable, "-m", "bench.voice", *args, "--steps", "2", "--step-turns", "1",
         "--loop", "asyncio"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.stdout
    added = figures(text, "total added (the four stages)")
    text_p50, text_p95 = figures(text, "baseline: text say() → LLM request")
    # Each stage is a wait the runtime could make longer: positive, and well under a second
    # on an idle machine with instant providers.
    assert len(added) == 2 and 0 < added[0] <= added[1] < 2000, text
    assert 0 < text_p50 <= text_p95 < 1000, text
    for stage in ("speech end → STT request", "first sentence → TTS request"):
        assert 0 <= figures(text, stage)[0] < 1000, text
    # Voice-to-voice holds the silence window (700 ms) and the recognizer's work.
    v2v, _ = figures(text, "end of speech → first audio to the socket")[:2]
    assert v2v > 700 and v2v > figures(text, "pocketsphinx (STT request → done)")[0], text
    row = next(line for line in text.splitlines() if re.match(r"\s+2\s", line))
    assert int(row.split()[4]) == 2, text  # both sessions' answer heard and answered aloud
    speech = figures(text, "respondent speech, 16 kHz")
    silence = figures(text, "respondent silence, 16 kHz")
    assert 0.5 < silence[0] < speech[0] < 12 and speech[1] == pytest.approx(115.2), text
    assert "stored by this run's sessions: interviewer" in text
