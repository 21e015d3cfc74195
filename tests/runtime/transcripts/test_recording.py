"""The stereo recording: each clip at its offset in its channel, overlaps summed, as Opus."""

from __future__ import annotations

import array
import json
import math
from pathlib import Path

from runtime.transcripts import recording
from runtime.transcripts.recording import Placed
from runtime.voice import decoding
from tests.runtime.voice.speech import opus

RATE = 16_000


def sine(hz: float, ms: int, amplitude: int = 6000) -> bytes:
    count = RATE * ms // 1000
    step = 2 * math.pi * hz / RATE
    return array.array("h", (round(amplitude * math.sin(step * n)) for n in range(count))).tobytes()


def peaks(pcm: array.array[int], start_ms: int, end_ms: int) -> tuple[int, int]:
    first, last = start_ms * RATE // 1000 * 2, end_ms * RATE // 1000 * 2
    return max(map(abs, pcm[first:last:2]), default=0), max(
        map(abs, pcm[first + 1 : last : 2]), default=0
    )


async def test_clips_land_in_their_channel_at_their_offset(tmp_path: Path) -> None:
    clips = [
        Placed("right", 0, await opus(sine(440, 1000), RATE)),
        Placed("left", 1500, await opus(sine(300, 800), RATE)),
        # A barge-in: the interviewer's next clip starts while the respondent still speaks,
        # and a second right-hand clip overlaps the first's end (summed, not cut).
        Placed("right", 2000, await opus(sine(500, 1000), RATE)),
        Placed("right", 2800, await opus(sine(700, 700), RATE)),
    ]
    path, length_ms = await recording.mix(clips, tmp_path)
    assert length_ms == 3500 and path.name == "recording.ogg"
    assert not (tmp_path / "left.pcm").exists() and not (tmp_path / "right.pcm").exists()
    code, out, _ = await decoding.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", str(path)], b""
    )
    probed = json.loads(out)
    assert code == 0 and probed["streams"][0]["channels"] == 2
    assert abs(float(probed["format"]["duration"]) * 1000 - 3500) < 60
    to_pcm = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ar", str(RATE), "-ac", "2"]
    code, pcm, _ = await decoding.run([*to_pcm, "pipe:1"], b"")
    samples = array.array("h", pcm)
    left, right = peaks(samples, 100, 900)
    assert right > 3000 and left < 200  # the interviewer alone
    left, right = peaks(samples, 1100, 1400)
    assert left < 200 and right < 200  # nobody: silence between
    left, right = peaks(samples, 1600, 1950)
    assert left > 3000 and right < 200  # the respondent alone
    _, overlapped = peaks(samples, 2850, 2950)
    _, alone = peaks(samples, 3100, 3400)
    assert overlapped > alone * 1.3  # two clips summed louder than one
