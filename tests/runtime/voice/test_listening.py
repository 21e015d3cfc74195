"""The listener on real speech: when speech starts and stops, when the turn ends, idle, limits."""

from __future__ import annotations

import pytest

from runtime.voice.frames import FRAME_BYTES, FrameSizeError
from runtime.voice.listening import (
    END_OF_TURN_MS,
    Eagerness,
    EndOfTurn,
    Idle,
    Listener,
    ListeningEvent,
    ListeningPolicy,
    SpeechStarted,
    SpeechStopped,
)
from runtime.voice.vad import SileroVad
from tests.runtime.voice.speech import (
    click,
    frames,
    leading_silence_ms,
    noise,
    silence,
    spoken,
    trailing_silence_ms,
)

SENTENCE = "Hello there, I think the interview went rather well today."
LATER = "And the team was kind."
PAD = 1000
# Where the detected edges may fall around the audio's own (its first and last sample above
# the noise floor): Silero's score lags by up to one 32 ms window, and espeak fades in and out.
START_EARLY, START_LATE = 40, 120
END_EARLY, END_LATE = 60, 200


def listen(pcm: bytes, policy: ListeningPolicy | None = None) -> list[ListeningEvent]:
    listener = Listener(SileroVad(), policy or ListeningPolicy(idle_ms=None))
    return [event for frame in frames(pcm) for event in listener.push(frame)]


def of(events: list[ListeningEvent], kind: type[ListeningEvent]) -> list[ListeningEvent]:
    return [event for event in events if isinstance(event, kind)]


def speech_edges(text: str, before: int = PAD) -> tuple[int, int]:
    pcm = spoken(text)
    duration = len(pcm) // 32
    return before + leading_silence_ms(pcm), before + duration - trailing_silence_ms(pcm)


def test_speech_start_and_stop_are_found_within_tolerance() -> None:
    pcm = silence(PAD) + spoken(SENTENCE) + silence(2000)
    events = listen(pcm)
    assert [type(event) for event in events] == [SpeechStarted, SpeechStopped, EndOfTurn]
    started, stopped, ended = events
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    begins, ends = speech_edges(SENTENCE)
    assert begins - START_EARLY <= started.start_ms <= begins + START_LATE
    assert started.at_ms == started.start_ms + 200  # after 200 ms of speech
    assert ends - END_EARLY <= stopped.end_ms <= ends + END_LATE
    assert stopped.at_ms == stopped.end_ms + 300  # after 300 ms of silence
    # The utterance is the stream's own audio from 300 ms before the start to the stop.
    assert stopped.pcm_start_ms == stopped.start_ms - 300
    assert stopped.pcm == pcm[stopped.pcm_start_ms * 32 : stopped.at_ms * 32]
    assert stopped.duration_ms == stopped.at_ms - stopped.pcm_start_ms
    assert not stopped.cut
    assert ended == EndOfTurn(stopped.end_ms + 700, "silence", 700)


@pytest.mark.parametrize("eagerness", ["relaxed", "normal", "brisk"])
def test_the_turn_ends_after_the_eagerness_window(eagerness: Eagerness) -> None:
    events = listen(
        silence(PAD) + spoken(SENTENCE) + silence(1500),
        ListeningPolicy(eagerness=eagerness, idle_ms=None),
    )
    (stopped,) = of(events, SpeechStopped)
    (ended,) = of(events, EndOfTurn)
    assert isinstance(stopped, SpeechStopped) and isinstance(ended, EndOfTurn)
    window = END_OF_TURN_MS[eagerness]
    assert ended.at_ms == stopped.end_ms + window
    assert events[-1] == ended


@pytest.mark.parametrize(("eagerness", "turns"), [("relaxed", 1), ("normal", 1), ("brisk", 2)])
def test_a_pause_ends_the_turn_only_when_longer_than_the_window(
    eagerness: Eagerness, turns: int
) -> None:
    """600 ms between two sentences (plus espeak's own tail): two utterances in every case,
    one turn when relaxed or normal, two when brisk."""
    events = listen(
        silence(PAD) + spoken(SENTENCE) + silence(300) + spoken(LATER) + silence(1500),
        ListeningPolicy(eagerness=eagerness, idle_ms=None),
    )
    assert len(of(events, SpeechStarted)) == 2
    assert len(of(events, SpeechStopped)) == 2
    assert len(of(events, EndOfTurn)) == turns


def test_quiet_noise_and_clicks_do_not_start_speech() -> None:
    hiss = noise(3000, 1000)  # white noise at -30 dBFS
    knocks = b"".join(click() + silence(180) for _ in range(10))
    assert listen(hiss + knocks + silence(500)) == []


def test_idle_fires_after_the_configured_silence_once() -> None:
    listener = Listener(SileroVad(), ListeningPolicy(idle_ms=3000))
    quiet = frames(silence(5000))
    assert all(listener.push(frame) == [] for frame in quiet[:25])  # not armed yet
    listener.arm_idle()
    after = quiet[25:]
    events = [(index, event) for index, frame in enumerate(after) for event in listener.push(frame)]
    assert events == [(149, Idle(at_ms=500 + 3000, silence_ms=3000))]


def test_speech_disarms_the_idle_timer() -> None:
    listener = Listener(SileroVad(), ListeningPolicy(idle_ms=2000))
    listener.arm_idle()
    pcm = silence(1000) + spoken("Yes.") + silence(3000)
    events = [event for frame in frames(pcm) for event in listener.push(frame)]
    assert [type(event) for event in events] == [SpeechStarted, SpeechStopped, EndOfTurn]


def test_an_utterance_past_the_limit_is_cut_and_its_turn_ended() -> None:
    pcm = silence(PAD) + spoken(SENTENCE) + silence(1500)
    events = listen(pcm, ListeningPolicy(max_utterance_ms=1000, idle_ms=None))
    cut, ended = events[1], events[2]
    assert isinstance(cut, SpeechStopped) and cut.cut
    assert cut.at_ms == cut.start_ms + 1000
    assert cut.pcm == pcm[cut.pcm_start_ms * 32 : cut.at_ms * 32]
    assert isinstance(ended, EndOfTurn) and ended.reason == "max_length"
    assert ended.at_ms == cut.at_ms
    # What is still said is heard as a new utterance, with no audio of the cut one in it.
    rest = of(events[3:], SpeechStopped)
    assert rest and all(isinstance(e, SpeechStopped) and e.pcm_start_ms >= cut.at_ms for e in rest)


def test_finish_stops_the_utterance_and_ends_the_turn() -> None:
    listener = Listener(SileroVad(), ListeningPolicy(idle_ms=None))
    for frame in frames(silence(500) + spoken(SENTENCE)[: 1000 * 32]):
        listener.push(frame)
    assert listener.in_speech and listener.speech_ms > 500
    stopped, ended = listener.finish()
    assert isinstance(stopped, SpeechStopped) and not stopped.cut
    assert ended == EndOfTurn(1500, "finished", 1500 - stopped.end_ms)
    assert listener.finish() == []


def test_the_same_audio_gives_the_same_events() -> None:
    pcm = silence(PAD) + spoken(SENTENCE) + silence(300) + spoken(LATER) + silence(1500)
    assert listen(pcm) == listen(pcm)


@pytest.mark.parametrize("size", [0, 1, FRAME_BYTES - 2, FRAME_BYTES + 2, 2 * FRAME_BYTES])
def test_frames_of_another_size_are_refused(size: int) -> None:
    listener = Listener(SileroVad())
    listener.push(bytes(FRAME_BYTES))
    with pytest.raises(FrameSizeError):
        listener.push(bytes(size))
    assert listener.now_ms == 20  # a refused frame is not counted


@pytest.mark.parametrize(
    "policy",
    [
        {"release": 0.6},
        {"start_ms": 0},
        {"stop_ms": 500, "eagerness": "brisk"},
        {"eagerness": "eager"},
    ],
)
def test_inconsistent_policies_are_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ListeningPolicy(**policy)  # type: ignore[arg-type]
