"""Whether the respondent's speech interrupts the interviewer: enough of it, or enough words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class BargeInPolicy:
    """LiveKit's minimum interruption (0.5 s of speech) or pipecat's minimum-words strategy
    (2 words): a cough, a click or an "mm-hm" (backchannel, short, one word) meets neither,
    while it also keeps the interviewer from interrupting itself through an echo that leaks
    past the browser's canceller in short bursts."""

    min_speech_ms: int = 500
    min_words: int = 2


@dataclass(frozen=True)
class Interrupt:
    """Stop the interviewer: cancel generation and synthesis, flush playback."""

    reason: Literal["speech", "words"]
    speech_ms: int
    words: int


@dataclass(frozen=True)
class Hold:
    """Respondent speech under both thresholds so far: the interviewer carries on (a page
    may lower its volume) until it is decided."""

    speech_ms: int
    words: int


@dataclass(frozen=True)
class Resume:
    """The speech ended under both thresholds: a false interruption, nothing is stopped."""

    speech_ms: int
    words: int


BargeInDecision = Interrupt | Hold | Resume


def decide(
    speech_ms: int, words: int = 0, *, ended: bool, policy: BargeInPolicy | None = None
) -> BargeInDecision:
    """The decision for one utterance heard while the interviewer speaks, from what is known
    of it so far: its speech and the words a partial transcript has recognized in it."""
    policy = policy or BargeInPolicy()
    if speech_ms >= policy.min_speech_ms:
        return Interrupt("speech", speech_ms, words)
    if words >= policy.min_words:
        return Interrupt("words", speech_ms, words)
    return Resume(speech_ms, words) if ended else Hold(speech_ms, words)


class BargeInGate:
    """decide() over a stream: fed after every frame while the interviewer speaks, it answers
    once per change, so Interrupt and Resume each come once per utterance."""

    def __init__(self, policy: BargeInPolicy | None = None) -> None:
        self.policy = policy or BargeInPolicy()
        self._open = False  # an utterance is being weighed
        self._interrupted = False
        self._speech_ms = 0
        self._words = 0

    def reset(self) -> None:
        """The interviewer stopped (or starts a new turn): what was being weighed is dropped."""
        self._open = self._interrupted = False
        self._speech_ms = self._words = 0

    def update(
        self, *, in_speech: bool, speech_ms: int, words: int | None = None
    ) -> BargeInDecision | None:
        """`in_speech` and `speech_ms` are the listener's (confirmed speech: a click never
        gets here); `words` the latest partial transcript's count, when there is one. None:
        nothing new to act on."""
        if words is not None:
            self._words = max(self._words, words)
        if not in_speech:
            if not self._open:
                self._words = 0  # a transcript of no utterance being weighed
                return None
            # The listener is quiet again (its speech_ms is 0): weigh what was last heard.
            ended = decide(self._speech_ms, self._words, ended=True, policy=self.policy)
            interrupted = self._interrupted
            self._open = self._interrupted = False
            self._speech_ms = self._words = 0
            return None if interrupted else ended
        if self._interrupted:
            return None
        first = not self._open
        self._open = True
        self._speech_ms = speech_ms
        decision = decide(speech_ms, self._words, ended=False, policy=self.policy)
        if isinstance(decision, Interrupt):
            self._interrupted = True
            return decision
        return decision if first else None
