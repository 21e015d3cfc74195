"""A voice session's stereo recording: every clip at its offset, respondent left, interviewer
right, silence between."""

from __future__ import annotations

import array
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from runtime.voice import decoding
from runtime.voice.types import SAMPLE_WIDTH, SpeechFailed

Channel = Literal["left", "right"]
# The interviewer's synthesized speech comes at 24 kHz; the respondent's 16 kHz is
# resampled up to it, so neither loses anything.
RATE = 24_000
# Opus at 24 kbit/s per channel (10.8 MB per hour per channel, within the 12 of the
# contract): at 32 kbit/s for both, libopus's intensity stereo let one speaker's voice
# leak into the other's channel at a seventh of its level (tests/runtime/transcripts).
BITRATE = "48k"
CONTENT_TYPE = "audio/ogg"
ENCODE_TIMEOUT_SECONDS = 600.0
_PEAK = 32767


@dataclass(frozen=True)
class Placed:
    """One stored clip (Ogg Opus bytes) and where it goes."""

    channel: Channel
    offset_ms: int
    audio: bytes


class _Track:
    """One channel's PCM written to a file in order: silence up to each clip, the clip, and
    where a clip overlaps the one before (a barge-in), the two summed sample by sample."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._flushed = 0  # samples written to the file
        self._tail = array.array("h")  # samples from `_flushed` on, kept until no clip overlaps

    @property
    def length(self) -> int:
        return self._flushed + len(self._tail)

    def place(self, at: int, samples: array.array[int]) -> None:
        # Clips come in order of their start, so none starts before the tail does.
        at = max(at, self._flushed)
        if at >= self.length:
            self._flush()
            self._out.write(bytes(SAMPLE_WIDTH * (at - self._flushed)))
            self._flushed = at
            self._tail = samples
            return
        start = at - self._flushed
        overlap = min(len(self._tail) - start, len(samples))
        for index in range(overlap):
            mixed = self._tail[start + index] + samples[index]
            self._tail[start + index] = max(-_PEAK - 1, min(_PEAK, mixed))
        self._tail.extend(samples[overlap:])

    def finish(self, length: int) -> None:
        self._flush()
        self._out.write(bytes(SAMPLE_WIDTH * max(length - self._flushed, 0)))
        self._flushed = max(length, self._flushed)

    def _flush(self) -> None:
        self._out.write(_little_endian(self._tail).tobytes())
        self._flushed += len(self._tail)
        self._tail = array.array("h")


def _little_endian(samples: array.array[int]) -> array.array[int]:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples


def _samples(pcm: bytes) -> array.array[int]:
    samples = array.array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


async def mix(clips: Sequence[Placed], workdir: Path, ffmpeg: str = "ffmpeg") -> tuple[Path, int]:
    """The stereo Ogg Opus file written in `workdir`, and its length in ms."""
    tracks = {channel: workdir / f"{channel}.pcm" for channel in ("left", "right")}
    with tracks["left"].open("wb") as left, tracks["right"].open("wb") as right:
        track = {"left": _Track(left), "right": _Track(right)}
        for clip in sorted(clips, key=lambda c: c.offset_ms):
            pcm = await decoding.to_pcm(clip.audio, CONTENT_TYPE, RATE, ffmpeg)
            await asyncio.to_thread(
                track[clip.channel].place, clip.offset_ms * RATE // 1000, _samples(pcm.data)
            )
        length = max(t.length for t in track.values())
        for t in track.values():
            t.finish(length)
    out = workdir / "recording.ogg"
    raw = ["-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i"]
    args = [decoding.found(ffmpeg, "ffmpeg"), "-nostdin", "-v", "error", "-y"]
    args += [*raw, str(tracks["left"]), *raw, str(tracks["right"])]
    args += ["-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo[a]", "-map", "[a]"]
    args += ["-c:a", "libopus", "-b:a", BITRATE, "-application", "voip", str(out)]
    try:
        async with asyncio.timeout(ENCODE_TIMEOUT_SECONDS):
            code, _, err = await decoding.run(args, b"")
    except TimeoutError as exc:
        raise SpeechFailed("encode_timeout", retryable=False) from exc
    if code != 0:
        raise SpeechFailed(f"encode_failed: {err.decode(errors='replace')[-200:]}", False)
    for path in tracks.values():
        path.unlink()
    return out, length * 1000 // RATE
