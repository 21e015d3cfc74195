"""The listening benchmark in a short run: its figures come out and rank as measured."""

from __future__ import annotations

from bench.voice_vad import conversation, interleaved, measure, stream_memory_mb
from runtime.voice.listening import Listener, ListeningPolicy
from runtime.voice.vad import SileroVad, WebRtcVad


def test_the_benchmark_measures_listening_against_slicing() -> None:
    pcm = conversation()
    # First: streams freed later would leave memory the next ones reuse.
    assert 1 < stream_memory_mb(pcm, streams=3) < 50
    baseline = measure(lambda frame: None, pcm, 0.2)
    silero = measure(Listener(SileroVad(), ListeningPolicy()).push, pcm, 0.3)
    webrtc = measure(Listener(WebRtcVad(), ListeningPolicy()).push, pcm, 0.2)
    assert baseline > webrtc > silero > 50  # one stream at least keeps up with itself
    assert interleaved(SileroVad, pcm, 3, 0.3) > 50 * 3
