"""A respondent's voice on a live session: listening, recognizing and speaking, over any transport.

The channel never sees a socket: a transport hands it frames (`frame`), control messages
(`control`) and the session's log events (`events`), and it answers through an `Outlet`.
docs/voice.md, "The live protocol", is the contract both sides keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import select

from runtime.interviews import voice as interview_voice
from runtime.languages.phrases import for_language
from runtime.live import conversation
from runtime.live.eventlog import id_key, read_all
from runtime.live.events import (
    RespondentMessage,
    StoredEvent,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, DomainError, ValidationError
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.blobs import BlobStore
from runtime.voice import clips
from runtime.voice.barge_in import BargeInGate, Interrupt
from runtime.voice.frames import FRAME_BYTES, FRAME_MS, check_frame
from runtime.voice.listening import (
    Eagerness,
    EndOfTurn,
    Idle,
    Listener,
    ListeningPolicy,
    SpeechStarted,
    SpeechStopped,
)
from runtime.voice.speaking import SpokenTurn, Timings
from runtime.voice.stt import SpeechToText
from runtime.voice.tts import TextToSpeech
from runtime.voice.types import SAMPLE_RATE, SAMPLE_WIDTH, Pcm, SpeechError, SpeechUnavailable
from runtime.voice.vad import Vad, load_vad

log = structlog.get_logger(__name__)

Talk = Literal["open", "push"]
VoiceState = Literal["listening", "thinking", "speaking"]

# Frames may run ahead of the clock by this much (a client catching up after a stall),
# no more: faster than real time is a client flooding the recognizer.
MAX_AHEAD_MS = 2_000
# After playback.stop, how long the page's final played_ms is awaited before the server's
# own estimate (time since the audio started) stands in for it.
PLAYED_REPORT_WAIT_S = 0.5
# A turn's audio counts as played this long after it should have ended, if the page never
# says so (a page that does not report must not leave the interviewer "speaking" for ever).
PLAYBACK_GRACE_MS = 1_500
# How long a respondent's answer waits for the interviewer's turn it follows to be stored.
TURN_SETTLE_WAIT_S = 60.0
# Re-prompts per interviewer turn: after these, the session's own idle timeout decides.
MAX_REPROMPTS = 2


class Outlet(Protocol):
    """Where the channel's output goes: a WebSocket today, a WebRTC data channel tomorrow."""

    async def send_json(self, message: dict[str, Any]) -> None: ...

    async def send_audio(self, pcm: bytes) -> None: ...


class VoiceParts(conversation.ConversationParts, Protocol):
    """What the channel needs of the process (runtime.services.Services)."""

    stt: SpeechToText
    tts: TextToSpeech
    blobs: BlobStore


@dataclass(frozen=True)
class ChannelSettings:
    """What the channel reads of its interview (runtime.interviews.voice)."""

    language: str = "en"
    eagerness: Eagerness = "normal"
    voice: str | None = None
    rate: float = 1.0
    idle_ms: int | None = 15_000

    @classmethod
    def of(cls, interview: Mapping[str, Any]) -> ChannelSettings:
        voice = interview_voice.settings_of(interview)
        idle = voice.idle_reprompt_seconds
        return cls(
            language=str(interview.get("language") or "en"),
            eagerness=voice.eagerness,
            voice=voice.voice,
            rate=voice.speaking_rate,
            idle_ms=None if idle is None else idle * 1000,
        )


@dataclass
class _Turn:
    """An interviewer turn as the log tells it."""

    id: str
    text: str = ""
    completed: bool = False
    answered: bool = False  # a respondent message followed it
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # stored (turn.completed)


@dataclass
class _Utterance:
    stopped: SpeechStopped
    heard_at: float  # perf_counter() when the listener decided it had stopped
    asked: float = 0.0  # when the recognizer was asked, and when it answered
    answered: float = 0.0
    recognized: asyncio.Task[str | None] = field(init=False)


@dataclass
class TurnTimings:
    """perf_counter() marks along one voice turn, of its last utterance (bench.voice)."""

    speech_end: float = 0.0  # the listener decided the speech had stopped
    stt_request: float = 0.0
    stt_done: float = 0.0
    end_of_turn: float = 0.0
    said: float = 0.0  # the answer handed to the conversation (the next turn starts)


class VoiceChannel:
    """One respondent's voice on one session. Owns every task it starts; `close` cancels them."""

    def __init__(
        self,
        parts: VoiceParts,
        session_id: str,
        settings: ChannelSettings,
        outlet: Outlet,
        offset_ms: int,
        talk: Talk = "open",
        vad: Vad | None = None,
        max_ahead_ms: int = MAX_AHEAD_MS,
    ) -> None:
        self._parts = parts
        self._session_id = session_id
        self._settings = settings
        self._outlet = outlet
        self._offset_ms = offset_ms  # the session-timeline time of the stream's start
        self._talk = talk
        self._max_ahead_ms = max_ahead_ms
        policy = ListeningPolicy(eagerness=settings.eagerness, idle_ms=settings.idle_ms)
        self._listener = Listener(vad or load_vad(), policy)
        self._gate = BargeInGate()
        self._began = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turns: dict[str, _Turn] = {}
        self._latest: _Turn | None = None
        self._spoken_ids: set[str] = set()
        # The interviewer audio being sent or played, and its task.
        self._speaking: SpokenTurn | None = None
        self._speaking_task: asyncio.Task[None] | None = None
        self._audio_started_at = 0.0  # monotonic, when its first audio went out
        self._audio_started_ms = 0  # stream time of that moment
        self._audio_sent_all = False
        self._played_ms = 0
        self._played_report = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None
        self._reprompts: dict[str, int] = {}
        # The respondent's turn being heard; utterances heard while the interviewer speaks
        # are weighed by the barge-in gate first (discarded when it says Resume).
        self._utterances: list[_Utterance] = []
        self._weighing = False
        self._storing: asyncio.Task[clips.AudioRef] | None = None  # the heard turn's clip
        self._settling: asyncio.Task[None] | None = None  # an interrupted turn being stored
        self._commits = asyncio.Lock()
        self._state: VoiceState | None = None
        self._last_event: tuple[int, int] = (-1, -1)
        self._late_report: int | None = None  # played_ms reported after a stop
        self.timings: list[TurnTimings] = []
        # Each interviewer turn spoken (not re-prompts), in order: its id and its timings.
        self.spoken_timings: list[tuple[str, Timings]] = []
        self.closed = False
        self._started = False

    @property
    def speaking(self) -> str | None:
        """What the interviewer is saying now: "turn", "reprompt", or None."""
        return self._speaking.kind if self._speaking is not None else None

    # -- the transport's side ------------------------------------------------------------

    def prime(self, log: list[StoredEvent]) -> None:
        """The session's log so far (read when the channel opens): what to speak first."""
        self.events(log)

    async def start(self) -> None:
        await self._outlet.send_json(
            {
                "type": "voice.ready",
                "input": {
                    "sample_rate": SAMPLE_RATE,
                    "encoding": "pcm_s16le",
                    "frame_ms": FRAME_MS,
                },
                "output": {
                    "sample_rate": self._parts.tts.sample_rate,
                    "encoding": "pcm_s16le",
                    "channels": 1,
                },
                "talk": self._talk,
                "eagerness": self._settings.eagerness,
                "limits": {
                    "frame_bytes": FRAME_BYTES,
                    "max_utterance_ms": self._listener.policy.max_utterance_ms,
                    "max_ahead_ms": MAX_AHEAD_MS,
                },
            }
        )
        await self._set_state("listening")
        self._started = True
        self._speak_latest()

    async def frame(self, data: bytes) -> None:
        """One 20 ms frame of the respondent's microphone. ValidationError: refused, not counted."""
        check_frame(data)
        ahead = self._listener.now_ms + FRAME_MS - (time.monotonic() - self._began) * 1000
        if ahead > self._max_ahead_ms:
            raise ValidationError(
                "audio frames are arriving faster than real time (more than "
                f"{self._max_ahead_ms} ms "
                "ahead of the clock)",
                field="frame",
            )
        for event in self._listener.push(data):
            await self._on_listening(event)
        if self._audio_playing():
            decision = self._gate.update(
                in_speech=self._listener.in_speech, speech_ms=self._listener.speech_ms
            )
            if isinstance(decision, Interrupt):
                self._weighing = False  # the utterance is the respondent's answer now
                await self._interrupt(decision.reason)

    async def control(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "playback":
            self._on_played(message)
        elif kind == "voice.end_turn":
            for event in self._listener.finish():
                await self._on_listening(event)
            self._end_turn(None)
        else:
            raise ValidationError(
                "type must be one of: voice.start, voice.stop, voice.end_turn, playback",
                field="type",
            )

    def events(self, batch: list[StoredEvent]) -> None:
        """The session's log events as the stream delivers them (replayed ones included):
        the channel speaks the latest interviewer turn while no answer has followed it."""
        for stored in batch:
            key = id_key(stored.id)
            if key <= self._last_event:
                continue  # seen already: the log was read when the channel opened
            self._last_event = key
            event = stored.event
            if isinstance(event, TurnStarted):
                turn = self._turns.get(event.turn_id)
                if turn is None or event.restart:
                    turn = _Turn(event.turn_id)
                    self._turns[event.turn_id] = turn
                self._latest = turn
            elif isinstance(event, TurnDelta):
                turn = self._turns.setdefault(event.turn_id, _Turn(event.turn_id))
                turn.text += event.text
                if self._speaking is not None and self._speaking.turn_id == turn.id:
                    self._speaking.feed(event.text)
            elif isinstance(event, TurnCompleted):
                turn = self._turns.setdefault(event.turn_id, _Turn(event.turn_id))
                turn.text, turn.completed = event.content, True
                turn.settled.set()
                if self._speaking is not None and self._speaking.turn_id == turn.id:
                    self._speaking.finish(event.content)
                if self._latest is None or self._latest.id == turn.id:
                    self._latest = turn
            elif isinstance(event, RespondentMessage) and self._latest is not None:
                self._latest.answered = True
        if self._started and not self.closed:
            self._speak_latest()

    async def drain(self, seconds: float) -> None:
        """Let the interviewer's audio in flight finish (the closing turn before the socket
        closes), up to `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self._speaking_task is not None and not self._speaking_task.done():
                    await asyncio.wait([self._speaking_task])
                if self._speaking is not None and self._watchdog is not None:
                    await asyncio.wait([self._watchdog])
                pending = [t for t in self._tasks if t is not self._watchdog]
                if pending:
                    await asyncio.wait(pending)

    async def close(self) -> None:
        """Stop listening and speaking (the respondent switched to text, or left)."""
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._storing is not None:  # a turn heard and never committed: its clip goes
            await self._discard(self._storing)
            self._storing = None

    # -- listening -----------------------------------------------------------------------

    async def _on_listening(self, event: object) -> None:
        if isinstance(event, SpeechStarted):
            self._weighing = self._audio_playing()
            if not self._weighing:
                self._drop_encoding()  # the turn goes on: its clip so far is stale
            await self._send({"type": "speech.started", "at_ms": event.start_ms})
        elif isinstance(event, SpeechStopped):
            await self._send({"type": "speech.stopped", "at_ms": event.end_ms})
            if self._weighing:
                self._weighing = False  # heard over the interviewer and not an interruption
                return
            utterance = _Utterance(event, time.perf_counter())
            utterance.recognized = self._spawn(self._recognize(utterance))
            self._utterances.append(utterance)
            self._drop_encoding()
            self._storing = self._encoding(self._utterances)
        elif isinstance(event, EndOfTurn):
            if self._talk == "push" and event.reason == "silence":
                return  # the respondent says when they are done
            self._end_turn(event)
        elif isinstance(event, Idle):
            self._reprompt()

    async def _recognize(self, utterance: _Utterance) -> str | None:
        utterance.asked = time.perf_counter()
        try:
            transcript = await self._parts.stt.transcribe(
                utterance.stopped.pcm, f"audio/L16;rate={SAMPLE_RATE}", self._settings.language
            )
        except SpeechError as exc:
            await self._speech_error("recognition", exc)
            return None
        finally:
            utterance.answered = time.perf_counter()
        await self._send(
            {"type": "transcript.partial", "text": self._heard_so_far(transcript.text)}
        )
        return transcript.text.strip()

    def _heard_so_far(self, latest: str) -> str:
        done = [
            u.recognized.result() or ""
            for u in self._utterances
            if u.recognized.done() and not u.recognized.cancelled()
        ]
        return " ".join(t for t in [*done, latest.strip()] if t)

    def _end_turn(self, event: EndOfTurn | None) -> None:
        utterances, self._utterances = self._utterances, []
        storing, self._storing = self._storing, None
        if not utterances:
            return
        timings = TurnTimings(end_of_turn=time.perf_counter())
        self._spawn(self._commit(utterances, timings, storing or self._encoding(utterances)))

    def _encoding(self, utterances: list[_Utterance]) -> asyncio.Task[clips.AudioRef]:
        """The turn's audio so far, encoded and stored. Started as each utterance stops, so
        the end-of-turn window (400 ms past the stop at `normal`) covers ffmpeg's 100 to 250 ms
        and the answer does not wait for it (bench.voice measured 230 ms on the answer's way
        when it began at the end of turn); speech that resumes drops it (`_drop_encoding`)."""
        first = utterances[0].stopped
        return self._spawn(
            clips.store_clip(
                self._parts.blobs,
                self._session_id,
                Pcm(_joined(utterances), SAMPLE_RATE),
                self._offset_ms + first.pcm_start_ms,
            )
        )

    def _drop_encoding(self) -> None:
        if self._storing is not None:
            self._spawn(self._discard(self._storing))
            self._storing = None

    async def _commit(
        self,
        utterances: list[_Utterance],
        timings: TurnTimings,
        storing: asyncio.Task[clips.AudioRef],
    ) -> None:
        kept = False
        try:
            async with self._commits:
                await self._set_state("thinking")
                texts = [await u.recognized for u in utterances]
                last = utterances[-1]
                timings.speech_end, timings.stt_request = last.heard_at, last.asked
                timings.stt_done = last.answered
                text = " ".join(t for t in texts if t)
                if any(t is None for t in texts) or not text:
                    # Told (voice.error) and can say it again or type; or noise the
                    # recognizer made nothing of.
                    await self._set_state("listening")
                    return
                if self._settling is not None:
                    await asyncio.wait([self._settling])
                await self._await_turn_stored()
                clip = await storing
                timings.said = time.perf_counter()
                try:
                    posted = await conversation.say(
                        self._parts,
                        self._session_id,
                        text,
                        f"voice-{uuid.uuid4().hex}",
                        modality="voice",
                        audio=clip,
                    )
                except DomainError as exc:
                    await self._send(_error_frame(exc.code, exc.message))
                    await self._set_state("listening")
                    return
                kept = posted.created
                self.timings.append(timings)
                await self._send(
                    {"type": "transcript.final", "text": text, "message_id": posted.id}
                )
        finally:
            # Not stored (refused, failed, cancelled): nothing references the clip.
            if not kept:
                await self._discard(storing)

    async def _discard(self, storing: asyncio.Task[clips.AudioRef]) -> None:
        if not storing.done():
            storing.cancel()
            return
        if not storing.cancelled() and storing.exception() is None:
            with contextlib.suppress(Exception):
                await self._parts.blobs.delete(storing.result().key)

    async def _await_turn_stored(self) -> None:
        turn = self._latest
        if turn is not None and not turn.completed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TURN_SETTLE_WAIT_S):
                    await turn.settled.wait()

    # -- speaking ------------------------------------------------------------------------

    def _speak_latest(self) -> None:
        turn = self._latest
        if turn is None or turn.answered or turn.id in self._spoken_ids:
            return
        if self._speaking is not None and self._speaking.kind == "turn":
            if self._speaking.turn_id == turn.id:
                return
        self._stop_speaking()
        self._spoken_ids.add(turn.id)
        spoken = self._spoken(turn.id, "turn")
        if turn.text:
            spoken.feed(turn.text)
        if turn.completed:
            spoken.finish(turn.text)
        self._begin_speaking(spoken)

    def _reprompt(self) -> None:
        turn = self._latest
        if turn is None or self._speaking is not None or turn.answered:
            return
        count = self._reprompts.get(turn.id, 0)
        if count >= MAX_REPROMPTS:
            return
        self._reprompts[turn.id] = count + 1
        spoken = self._spoken(turn.id, "reprompt")
        spoken.feed(for_language(self._settings.language).reprompt())
        spoken.finish()
        self._begin_speaking(spoken)

    def _spoken(self, turn_id: str, kind: str) -> SpokenTurn:
        spoken = SpokenTurn(
            turn_id, self._parts.tts, self._send_audio, self._voice(), self._settings.rate, kind
        )
        if kind == "turn":
            self.spoken_timings.append((turn_id, spoken.timings))
        return spoken

    def _voice(self) -> str | None:
        return self._settings.voice or self._parts.tts.voice_for(self._settings.language)

    def _begin_speaking(self, spoken: SpokenTurn) -> None:
        self._speaking = spoken
        self._audio_started_at = 0.0
        self._audio_sent_all = False
        self._played_ms = 0
        self._gate.reset()
        self._speaking_task = self._spawn(self._speak(spoken))

    async def _speak(self, spoken: SpokenTurn) -> None:
        try:
            await spoken.run()
        except SpeechUnavailable as exc:
            if self._settings.voice is None and spoken.voice is not None and not spoken.pcm:
                # No voice for the interview's language: the engine's default voice says it.
                spoken.voice = None
                with contextlib.suppress(SpeechError):
                    await spoken.run()
            if not spoken.pcm:
                await self._speech_error("synthesis", exc)
                self._stopped_speaking(spoken)
                return
        except SpeechError as exc:
            await self._speech_error("synthesis", exc)
            self._stopped_speaking(spoken)
            return
        if not spoken.pcm:
            self._stopped_speaking(spoken)
            return
        self._audio_sent_all = True
        await self._send(
            {"type": "audio.ended", "turn_id": spoken.turn_id, "duration_ms": spoken.duration_ms}
        )
        self._watchdog = self._spawn(self._await_playback(spoken))

    async def _send_audio(self, pcm: bytes) -> None:
        spoken = self._speaking
        if spoken is None:
            return
        if not self._audio_started_at:
            self._audio_started_at = time.monotonic()
            self._played_report.clear()
            self._audio_started_ms = self._listener.now_ms
            await self._send(
                {
                    "type": "audio.started",
                    "turn_id": spoken.turn_id,
                    "sample_rate": spoken.sample_rate,
                    "kind": spoken.kind,
                }
            )
            await self._set_state("speaking")
        await self._outlet.send_audio(pcm)

    def _audio_playing(self) -> bool:
        return self._speaking is not None and bool(self._audio_started_at)

    def _estimated_played_ms(self, spoken: SpokenTurn) -> int:
        elapsed = int((time.monotonic() - self._audio_started_at) * 1000)
        return max(self._played_ms, min(elapsed, spoken.duration_ms))

    async def _await_playback(self, spoken: SpokenTurn) -> None:
        """The page says when the turn has played (`playback` with `ended`); one that never
        does must not leave the interviewer speaking for ever: past the audio's length and
        a grace period, it has played."""
        deadline = self._audio_started_at + (spoken.duration_ms + PLAYBACK_GRACE_MS) / 1000
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        self._watchdog = None
        self._played(spoken)

    def _played(self, spoken: SpokenTurn) -> None:
        """The turn has played to its end: it is stored with its audio, and the respondent's
        silence starts to count."""
        if self._speaking is not spoken:
            return
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._stopped_speaking(spoken)
        self._listener.arm_idle()
        if spoken.kind == "turn":
            self._spawn(self._keep_turn_audio(spoken, spoken.duration_ms, interrupted=False))

    def _on_played(self, message: Mapping[str, Any]) -> None:
        played = message.get("played_ms")
        if not isinstance(played, int) or isinstance(played, bool) or played < 0:
            raise ValidationError(
                "played_ms must be a whole number of milliseconds", field="played_ms"
            )
        spoken = self._speaking
        if spoken is None or message.get("turn_id") != spoken.turn_id:
            self._late_report = played  # the final count after a stop
            self._played_report.set()
            return
        self._played_ms = max(self._played_ms, min(played, spoken.duration_ms))
        if message.get("ended") is True and self._audio_sent_all:
            self._played(spoken)

    async def _interrupt(self, reason: str) -> None:
        spoken = self._speaking
        if spoken is None:
            return
        estimate = self._estimated_played_ms(spoken)
        self._stop_speaking()
        self._played_report.clear()
        self._late_report = None
        await self._send({"type": "playback.stop", "turn_id": spoken.turn_id, "reason": "barge_in"})
        await self._set_state("listening")
        # Still being written here: the engine stops now (elsewhere, it runs to its end).
        stopped = spoken.kind == "turn" and self._parts.turns.interrupt(
            self._session_id, spoken.turn_id
        )
        log.info(
            "voice.barge_in",
            session_id=self._session_id,
            turn_id=spoken.turn_id,
            by=reason,
            generation_stopped=stopped,
        )
        if spoken.kind == "turn":
            self._settling = self._spawn(self._settle_interrupted(spoken, estimate))

    async def _settle_interrupted(self, spoken: SpokenTurn, estimate: int) -> None:
        # The page's own count is the truth (it knows its buffer); the estimate stands in
        # when it does not answer in time.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PLAYED_REPORT_WAIT_S):
                await self._played_report.wait()
        reported = self._late_report
        played = min(reported, spoken.duration_ms) if reported is not None else estimate
        await self._keep_turn_audio(spoken, played, interrupted=True)

    async def _keep_turn_audio(self, spoken: SpokenTurn, played_ms: int, interrupted: bool) -> None:
        turn = self._turns.get(spoken.turn_id)
        if turn is not None and not turn.completed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TURN_SETTLE_WAIT_S):
                    await turn.settled.wait()
        pcm = spoken.played_pcm(played_ms)
        if not pcm.data:
            return
        written = turn.text if turn is not None else spoken.text
        heard = spoken.heard(played_ms) if interrupted else None
        clip = None
        try:
            clip = await clips.store_clip(
                self._parts.blobs,
                self._session_id,
                pcm,
                self._offset_ms + self._audio_started_ms,
            )
            await sessions.attach_turn_audio(
                self._parts.db,
                self._session_id,
                spoken.turn_id,
                clip,
                heard=heard if heard is not None and heard != written else None,
                heard_ms=played_ms if interrupted else None,
            )
        except Exception:
            # The turn is kept as text (the session may have been erased meanwhile).
            log.exception("voice.turn_audio_failed", session_id=self._session_id)
            if clip is not None:
                with contextlib.suppress(Exception):
                    await self._parts.blobs.delete(clip.key)

    def _stop_speaking(self) -> None:
        if self._speaking_task is not None and not self._speaking_task.done():
            self._speaking_task.cancel()
        if self._watchdog is not None and not self._watchdog.done():
            self._watchdog.cancel()
        self._speaking = None
        self._speaking_task = None
        self._gate.reset()

    def _stopped_speaking(self, spoken: SpokenTurn) -> None:
        if self._speaking is spoken:
            self._weighing = False  # speech that outlasted the interviewer is an answer
            self._speaking = None
            self._speaking_task = None
            self._gate.reset()
            self._spawn(self._set_state("listening"))

    # -- plumbing ------------------------------------------------------------------------

    async def _speech_error(self, stage: str, exc: SpeechError) -> None:
        code = "speech_unavailable" if isinstance(exc, SpeechUnavailable) else "speech_failed"
        log.warning("voice.speech_error", session_id=self._session_id, stage=stage, error=str(exc))
        what = "hear you" if stage == "recognition" else "speak"
        await self._send(
            {
                "type": "voice.error",
                "error": {
                    "code": code,
                    "message": f"Voice is not working right now (could not {what}); "
                    "please type your answer instead.",
                    "stage": stage,
                },
                "fallback": "text",
            }
        )

    async def _set_state(self, state: VoiceState) -> None:
        if state != self._state:
            self._state = state
            await self._send({"type": "voice.state", "state": state})

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            await self._outlet.send_json(message)

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "voice.task_failed", session_id=self._session_id, error=repr(task.exception())
            )


def _joined(utterances: list[_Utterance]) -> bytes:
    """The turn's utterances on one timeline: the silence between them (not kept by the
    listener) filled in, so offsets inside the clip are stream times."""
    out = bytearray()
    start = utterances[0].stopped.pcm_start_ms
    for u in utterances:
        at = (u.stopped.pcm_start_ms - start) * SAMPLE_RATE * SAMPLE_WIDTH // 1000
        if at > len(out):
            out.extend(bytes(at - len(out)))
        out[at:] = u.stopped.pcm
    return bytes(out)


def _error_frame(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}


def _input_format(start: Mapping[str, Any]) -> Talk:
    """What a voice.start asks for, refused unless it is what the server listens to."""
    given = start.get("input", {})
    if not isinstance(given, dict):
        raise ValidationError("input must be an object", field="input")
    wanted = {"sample_rate": SAMPLE_RATE, "encoding": "pcm_s16le", "frame_ms": FRAME_MS}
    for name, value in wanted.items():
        if given.get(name, value) != value:
            raise ValidationError(
                f"input.{name} must be {value!r}: the server listens to 16-bit PCM, "
                f"{SAMPLE_RATE} Hz mono, in {FRAME_MS} ms frames",
                field=f"input.{name}",
            )
    talk = start.get("talk", "open")
    if talk not in ("open", "push"):
        raise ValidationError("talk must be open or push", field="talk")
    return "push" if talk == "push" else "open"


async def open_channel(
    parts: VoiceParts, session_id: str, outlet: Outlet, start: Mapping[str, Any]
) -> VoiceChannel:
    """A channel for a `voice.start`: the format checked, the interview's voice mode
    required (mode_not_enabled), the session live (conflict otherwise), the log read."""
    talk = _input_format(start)
    async with parts.db.connect() as conn:
        session = await sessions.row(conn, session_id)
        interview = (
            await conn.execute(
                select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
            )
        ).one()
    interview_voice.require_mode(interview, "voice")
    if session.status != "in_progress":
        raise Conflict(f"the session is {session.status}: there is nothing to say")
    offset = max(0, int((utcnow() - session.created_at).total_seconds() * 1000))
    channel = VoiceChannel(
        parts, session_id, ChannelSettings.of(dict(interview._mapping)), outlet, offset, talk
    )
    channel.prime(await read_all(parts.events, session_id))
    await channel.start()
    return channel
