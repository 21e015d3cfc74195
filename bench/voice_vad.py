"""Frames per second through the VAD and the listener against a loop that only slices frames.

Run with `python -m bench.voice_vad`. One process, process CPU time (so "per core"): a
16 kHz stream sends 50 frames a second, so frames/s ÷ 50 is how many streams one core
listens to. bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from runtime.voice.frames import FRAME_BYTES
from runtime.voice.listening import Listener, ListeningPolicy
from runtime.voice.vad import SileroVad, Vad, WebRtcVad
from tests.runtime.voice.speech import silence, spoken

FRAMES_PER_SECOND_OF_AUDIO = 50
ANSWERS = [
    "I would say that it was mostly about the price, and then the delivery times.",
    "Yes.",
    "Honestly I did not think about it much until the second order arrived late.",
]


def conversation() -> bytes:
    """About 20 s of a respondent: answers between silences, as a session streams them."""
    return b"".join(silence(1500) + spoken(answer) + silence(1200) for answer in ANSWERS * 2)


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(step: Callable[[bytes], object], pcm: bytes, seconds: float) -> float:
    """Frames per CPU second: the whole stream sliced and stepped, over and over."""
    frames = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for offset in range(0, len(pcm), FRAME_BYTES):
            step(pcm[offset : offset + FRAME_BYTES])
        frames += len(pcm) // FRAME_BYTES
    return frames / (time.process_time() - started)


def interleaved(vad: Callable[[], Vad], pcm: bytes, streams: int, seconds: float) -> float:
    """`streams` listeners fed in turn, frame by frame, as one process serves sessions."""
    listeners = [Listener(vad(), ListeningPolicy()) for _ in range(streams)]
    frames = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for offset in range(0, len(pcm), FRAME_BYTES):
            frame = pcm[offset : offset + FRAME_BYTES]
            for listener in listeners:
                listener.push(frame)
        frames += len(pcm) // FRAME_BYTES * streams
    return frames / (time.process_time() - started)


def stream_memory_mb(pcm: bytes, streams: int = 20) -> float:
    """RSS each Silero stream adds, measured first (before other figures free memory that
    the next allocations would reuse) and after each stream has run: ONNX Runtime allocates
    its arena on first use. One stream is made before, so the shared library is not counted."""
    first = SileroVad()
    before = rss_kb()
    kept = [Listener(SileroVad(), ListeningPolicy()) for _ in range(streams)]
    for listener in kept:
        for offset in range(0, 100 * FRAME_BYTES, FRAME_BYTES):
            listener.push(pcm[offset : offset + FRAME_BYTES])
    grown = rss_kb() - before
    del first, kept
    return grown / streams / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds per figure")
    parser.add_argument("--streams", type=int, default=50, help="listeners interleaved")
    args = parser.parse_args()
    pcm = conversation()
    memory = stream_memory_mb(pcm)
    print(f"audio: {len(pcm) // FRAME_BYTES / FRAMES_PER_SECOND_OF_AUDIO:.1f} s, repeated")

    baseline = measure(lambda frame: None, pcm, args.seconds)
    print(f"baseline (slice only)        {baseline:12,.0f} frames/s")
    for name, make in (("silero", SileroVad), ("webrtc", WebRtcVad)):
        listener = Listener(make(), ListeningPolicy())
        fps = measure(listener.push, pcm, args.seconds)
        print(
            f"{name} VAD + listener       {fps:12,.0f} frames/s  {1e6 / fps:6.1f} µs/frame  "
            f"baseline/this {baseline / fps:7.1f}x  streams per core "
            f"{fps / FRAMES_PER_SECOND_OF_AUDIO:6.0f}"
        )
    fps = interleaved(SileroVad, pcm, args.streams, args.seconds)
    print(
        f"silero, {args.streams} streams interleaved {fps:10,.0f} frames/s  streams per core "
        f"{fps / FRAMES_PER_SECOND_OF_AUDIO:6.0f}"
    )
    print(f"memory per Silero stream      {memory:.1f} MB RSS")


if __name__ == "__main__":
    main()
