"""The respondent's side of a voice session: frames in, speech start and stop, end of turn, idle."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from runtime.voice.frames import FRAME_BYTES, FRAME_MS, check_frame, frames_for
from runtime.voice.vad import Vad

Eagerness = Literal["relaxed", "normal", "brisk"]
# Silence after the last speech that ends the respondent's turn, per interview eagerness.
# Premature turn ends are the voice agents' top complaint (LiveKit #3373, #3427, #2642),
# and an interviewee pauses to think more than a caller: `normal` waits longer than
# OpenAI's 500 ms and LiveKit's 550 ms, `relaxed` leaves room for reflective answers, `brisk`
# is for quick questionnaires and still outlasts the 300 ms that ends an utterance.
END_OF_TURN_MS: dict[Eagerness, int] = {"relaxed": 1200, "normal": 700, "brisk": 400}

# starting: speech heard but not yet for start_ms (a click or a cough goes back to quiet);
# stopping: silence after speech, not yet for stop_ms (a pause between words).
State = Literal["quiet", "starting", "speaking", "stopping"]


@dataclass(frozen=True)
class ListeningPolicy:
    """Thresholds and windows (docs/voice.md, "Listening", says why each)."""

    eagerness: Eagerness = "normal"
    # Silero's probability that starts speech (LiveKit's and OpenAI's 0.5), and the lower
    # one that keeps it going (Silero's own hysteresis: 0.15 below), so a soft syllable does
    # not end an utterance.
    threshold: float = 0.5
    release: float = 0.35
    start_ms: int = 200
    stop_ms: int = 300
    pre_roll_ms: int = 300
    max_utterance_ms: int = 60_000
    # Silence after arm_idle() before Idle: LiveKit's user_away_timeout. None: never.
    idle_ms: int | None = 15_000

    def __post_init__(self) -> None:
        if self.eagerness not in END_OF_TURN_MS:
            raise ValueError(f"eagerness is one of {sorted(END_OF_TURN_MS)}")
        if not 0 < self.release <= self.threshold <= 1:
            raise ValueError("0 < release <= threshold <= 1")
        for name in ("start_ms", "stop_ms", "max_utterance_ms"):
            if getattr(self, name) < FRAME_MS:
                raise ValueError(f"{name} is at least one frame ({FRAME_MS} ms)")
        if self.end_of_turn_ms < self.stop_ms:
            raise ValueError("the end-of-turn window is at least the stop window")

    @property
    def end_of_turn_ms(self) -> int:
        return END_OF_TURN_MS[self.eagerness]


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: int  # stream time of the frame that confirmed it
    start_ms: int  # where the speech began: start_ms of speech before at_ms


@dataclass(frozen=True)
class SpeechStopped:
    at_ms: int
    start_ms: int
    end_ms: int  # the end of the last frame of speech
    # The utterance from pcm_start_ms (pre-roll included) to at_ms (its trailing silence
    # included: recognizers do better with a margin on both sides).
    pcm: bytes = field(repr=False)
    pcm_start_ms: int
    cut: bool  # max_utterance_ms reached while still speaking

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * FRAME_MS // FRAME_BYTES


@dataclass(frozen=True)
class EndOfTurn:
    at_ms: int
    reason: Literal["silence", "max_length", "finished"]
    silence_ms: int


@dataclass(frozen=True)
class Idle:
    at_ms: int
    silence_ms: int


ListeningEvent = SpeechStarted | SpeechStopped | EndOfTurn | Idle


class Listener:
    """One respondent stream. Time is the frames' own (count * 20 ms), never the clock, so the
    same audio always gives the same events. Memory is bounded: an utterance holds at most
    pre_roll_ms + max_utterance_ms of PCM (1.9 MB at the defaults)."""

    def __init__(self, vad: Vad, policy: ListeningPolicy | None = None) -> None:
        self.policy = policy or ListeningPolicy()
        self._vad = vad
        self._start_frames = frames_for(self.policy.start_ms)
        self._stop_frames = frames_for(self.policy.stop_ms)
        self._max_ms = frames_for(self.policy.max_utterance_ms) * FRAME_MS
        self._pre_roll: deque[bytes] = deque(maxlen=frames_for(self.policy.pre_roll_ms))
        self.state: State = "quiet"
        self._frames = 0
        self._utterance = bytearray()
        self._pcm_start_ms = 0
        self._start_ms = 0
        self._voiced = 0  # frames of speech in the current utterance
        self._run = 0  # consecutive frames of speech (starting) or of silence (stopping)
        self._last_voice_ms = 0
        self._turn_open = False
        self._idle_since: int | None = None

    @property
    def now_ms(self) -> int:
        """Stream time: the end of the last frame pushed."""
        return self._frames * FRAME_MS

    @property
    def speech_ms(self) -> int:
        """Speech heard in the current utterance (0 when quiet): what barge-in weighs."""
        return 0 if self.state == "quiet" else self._voiced * FRAME_MS

    @property
    def in_speech(self) -> bool:
        """Confirmed speech in progress (SpeechStarted sent, SpeechStopped not yet)."""
        return self.state in ("speaking", "stopping")

    def arm_idle(self) -> None:
        """Start the re-prompt timer, from now: call when the interviewer's turn has played.
        Speech disarms it; Idle fires once, after policy.idle_ms of silence."""
        if self.policy.idle_ms is not None:
            self._idle_since = self.now_ms

    def push(self, frame: bytes) -> list[ListeningEvent]:
        check_frame(frame)
        probability = self._vad.is_speech(frame)
        self._frames += 1
        now = self.now_ms
        events: list[ListeningEvent] = []
        if self.state == "quiet":
            if probability >= self.policy.threshold:
                self._begin(frame, now - FRAME_MS)
                self._maybe_confirm(events)
            else:
                self._pre_roll.append(frame)
        elif self.state == "starting":
            self._utterance += frame
            if probability >= self.policy.threshold:
                self._voiced += 1
                self._run += 1
                self._maybe_confirm(events)
            else:
                self._abandon()
        else:
            self._utterance += frame
            if probability >= self.policy.release:
                self._voiced += 1
                self._run = 0
                self._last_voice_ms = now
                self.state = "speaking"
            else:
                self.state = "stopping"
                self._run += 1
                if self._run >= self._stop_frames:
                    events.append(self._stop(cut=False))
            if self.in_speech and now - self._start_ms >= self._max_ms:
                events.append(self._stop(cut=True))
                events.append(EndOfTurn(now, "max_length", now - self._last_voice_ms))
                self._turn_open = False
        self._check_end_of_turn(events)
        self._check_idle(events)
        return events

    def finish(self) -> list[ListeningEvent]:
        """The stream ends (the respondent let go of the talk control, or left): the
        utterance in progress is stopped and the open turn ended now."""
        events: list[ListeningEvent] = []
        if self.state == "starting":
            self._abandon()
        if self.in_speech:
            events.append(self._stop(cut=False))
        if self._turn_open:
            events.append(EndOfTurn(self.now_ms, "finished", self.now_ms - self._last_voice_ms))
            self._turn_open = False
        return events

    def _begin(self, frame: bytes, frame_start: int) -> None:
        self.state = "starting"
        self._pcm_start_ms = frame_start - len(self._pre_roll) * FRAME_MS
        self._utterance = bytearray(b"".join(self._pre_roll))
        self._utterance += frame
        self._pre_roll.clear()
        self._start_ms = frame_start
        self._voiced = 1
        self._run = 1

    def _maybe_confirm(self, events: list[ListeningEvent]) -> None:
        if self._run >= self._start_frames:
            self.state = "speaking"
            self._run = 0
            self._last_voice_ms = self.now_ms
            self._turn_open = True
            self._idle_since = None
            events.append(SpeechStarted(self.now_ms, self._start_ms))

    def _abandon(self) -> None:
        """Too short to be speech: back to quiet, its frames back into the pre-roll."""
        self.state = "quiet"
        data = bytes(self._utterance)
        for offset in range(0, len(data), FRAME_BYTES):
            self._pre_roll.append(data[offset : offset + FRAME_BYTES])
        self._utterance = bytearray()
        self._voiced = 0
        self._run = 0

    def _stop(self, *, cut: bool) -> SpeechStopped:
        stopped = SpeechStopped(
            at_ms=self.now_ms,
            start_ms=self._start_ms,
            end_ms=self._last_voice_ms,
            pcm=bytes(self._utterance),
            pcm_start_ms=self._pcm_start_ms,
            cut=cut,
        )
        self.state = "quiet"
        self._utterance = bytearray()
        self._pre_roll.clear()  # its frames are in this utterance already
        self._voiced = 0
        self._run = 0
        return stopped

    def _check_end_of_turn(self, events: list[ListeningEvent]) -> None:
        # Deferred while starting: speech that is being confirmed would continue the turn.
        if not self._turn_open or self.state != "quiet":
            return
        silence = self.now_ms - self._last_voice_ms
        if silence >= self.policy.end_of_turn_ms:
            events.append(EndOfTurn(self.now_ms, "silence", silence))
            self._turn_open = False

    def _check_idle(self, events: list[ListeningEvent]) -> None:
        if self._idle_since is None or self.policy.idle_ms is None or self.in_speech:
            return
        silence = self.now_ms - self._idle_since
        if silence >= self.policy.idle_ms:
            events.append(Idle(self.now_ms, silence))
            self._idle_since = None
