"""The listening benchmark in a short run: its figures come out and rank as measured."""

from __future__ import annotations

import subprocess
import sys

from bench.voice_vad import conversation, interleaved, measure
from runtime.voice.listening import Listener, ListeningPolicy
from runtime.voice.vad import SileroVad, WebRtcVad


def test_the_benchmark_measures_listening_against_slicing() -> None:
    pcm = conversation()
    # In a process of its own: memory that streams freed earlier (other tests' listeners)
    # would be reused by the next ones, and the growth read as nothing.
    measured = subprocess.run(
        [sys.executable, "-c", "from bench.voice_vad import conversation, stream_memory_mb;"
         "print(stream_memory_mb(conversation(), streams=3))"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert 1 < float(measured.stdout) < 50
    baseline = measure(lambda frame: None, pcm, 0.2)
    silero = measure(Listener(SileroVad(), ListeningPolicy()).push, pcm, 0.3)
    webrtc = measure(Listener(WebRtcVad(), ListeningPolicy()).push, pcm, 0.2)
    assert baseline > webrtc > silero > 50  # one stream at least keeps up with itself
    assert interleaved(SileroVad, pcm, 3, 0.3) > 50 * 3
