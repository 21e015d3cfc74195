"""Barge-in: what of the respondent's speech stops the interviewer, on real speech and as rules."""

from __future__ import annotations

import pytest

from runtime.voice.barge_in import BargeInDecision, BargeInGate, Hold, Interrupt, Resume, decide
from runtime.voice.listening import Listener, ListeningPolicy
from runtime.voice.vad import SileroVad
from tests.runtime.voice.speech import click, frames, leading_silence_ms, noise, silence, spoken

SENTENCE = "I would say that it was mostly about the price, and then the delivery times."


def speech(ms: int) -> bytes:
    """`ms` of real speech: the sentence from where espeak's voice begins."""
    pcm = spoken(SENTENCE)
    start = leading_silence_ms(pcm) * 32
    return pcm[start : start + ms * 32]


def while_speaking(pcm: bytes, words: dict[int, int] | None = None) -> list[BargeInDecision]:
    """The gate's decisions for `pcm` heard while the interviewer speaks; `words` maps a frame
    index to the word count a partial transcript gave by then."""
    listener = Listener(SileroVad(), ListeningPolicy(idle_ms=None))
    gate = BargeInGate()
    decisions = []
    count = None
    for index, frame in enumerate(frames(pcm)):
        listener.push(frame)
        count = (words or {}).get(index, count)
        decision = gate.update(
            in_speech=listener.in_speech, speech_ms=listener.speech_ms, words=count
        )
        if decision is not None:
            decisions.append(decision)
    return decisions


def test_a_second_of_speech_interrupts_once_at_half_a_second() -> None:
    decisions = while_speaking(silence(500) + speech(1000) + silence(1000))
    assert [type(d) for d in decisions] == [Hold, Interrupt]
    interrupt = decisions[1]
    assert interrupt == Interrupt("speech", 500, 0)


@pytest.mark.parametrize("ms", [100, 200])
def test_a_fragment_of_speech_does_not_interrupt(ms: int) -> None:
    decisions = while_speaking(silence(500) + speech(ms) + silence(1000))
    assert not any(isinstance(d, Interrupt) for d in decisions)


def test_a_short_word_is_a_false_interruption_and_the_interviewer_resumes() -> None:
    decisions = while_speaking(silence(500) + spoken("Yes.") + silence(1000))
    assert [type(d) for d in decisions] == [Hold, Resume]
    resume = decisions[1]
    assert isinstance(resume, Resume) and 200 <= resume.speech_ms < 500


def test_clicks_and_noise_bursts_never_reach_the_gate() -> None:
    knocks = b"".join(click() + silence(100) for _ in range(20))
    bursts = b"".join(noise(160, 8000, seed) + silence(300) for seed in range(5))
    assert while_speaking(silence(200) + knocks + bursts) == []


def test_two_recognized_words_interrupt_before_half_a_second() -> None:
    # Speech begins at frame 25 and is confirmed 200 ms later; frame 42 is 340 ms into it.
    decisions = while_speaking(silence(500) + speech(1000) + silence(500), words={38: 1, 42: 2})
    assert [type(d) for d in decisions] == [Hold, Interrupt]
    interrupt = decisions[1]
    assert isinstance(interrupt, Interrupt) and interrupt.reason == "words"
    assert interrupt.speech_ms < 500 and interrupt.words == 2


def test_the_gate_weighs_each_utterance_afresh() -> None:
    pcm = silence(300) + spoken("Yes.") + silence(800) + speech(1000) + silence(800)
    assert [type(d) for d in while_speaking(pcm)] == [Hold, Resume, Hold, Interrupt]


def test_reset_drops_what_was_being_weighed() -> None:
    gate = BargeInGate()
    assert gate.update(in_speech=True, speech_ms=300, words=1) == Hold(300, 1)
    gate.reset()  # the interviewer finished its turn meanwhile
    assert gate.update(in_speech=False, speech_ms=0) is None
    assert gate.update(in_speech=True, speech_ms=220) == Hold(220, 0)


@pytest.mark.parametrize(
    ("speech_ms", "words", "ended", "expected"),
    [
        (0, 0, False, Hold(0, 0)),
        (480, 1, False, Hold(480, 1)),
        (500, 0, False, Interrupt("speech", 500, 0)),
        (100, 2, False, Interrupt("words", 100, 2)),
        (480, 1, True, Resume(480, 1)),
        (300, 3, True, Interrupt("words", 300, 3)),
    ],
)
def test_the_rules(speech_ms: int, words: int, ended: bool, expected: BargeInDecision) -> None:
    assert decide(speech_ms, words, ended=ended) == expected
