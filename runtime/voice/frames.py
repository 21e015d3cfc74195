"""The respondent's audio as the listener takes it: 20 ms frames of 16-bit PCM, 16 kHz mono."""

from __future__ import annotations

from runtime.platform.errors import ValidationError
from runtime.voice.types import SAMPLE_RATE, SAMPLE_WIDTH

FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH


class FrameSizeError(ValidationError):
    """A frame that is not exactly 20 ms of 16-bit PCM at 16 kHz mono (640 bytes)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"an audio frame is {FRAME_BYTES} bytes (20 ms of 16-bit PCM, 16 kHz mono), not {size}",
            field="frame",
        )
        self.size = size


def check_frame(frame: bytes) -> None:
    if len(frame) != FRAME_BYTES:
        raise FrameSizeError(len(frame))


def frames_for(ms: int) -> int:
    """How many frames `ms` milliseconds take, rounded up (a window is never shorter)."""
    return -(-ms // FRAME_MS)
