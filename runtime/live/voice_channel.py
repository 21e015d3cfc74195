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
from typing import Any

import structlog

from runtime.languages.phrases import for_language
from runtime.live import conversation, turn_audio
from runtime.live.eventlog import id_key
from runtime.live.events import (
    RespondentMessage,
    StoredEvent,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.live.voice_parts import (
    TURN_SETTLE_WAIT_S,
    ChannelSettings,
    LoggedTurn,
    Outlet,
    Talk,
    TurnTimings,
    Utterance,
    VoiceParts,
    VoiceState,
    error_frame,
    joined,
    speech_error_frame,
)
from runtime.platform.errors import DomainError, ValidationError
from runtime.voice import clips
from runtime.voice.barge_in import BargeInGate, Interrupt
from runtime.voice.frames import FRAME_BYTES, FRAME_MS, check_frame
from runtime.voice.listening import (
    EndOfTurn,
    Idle,
    Listener,
    ListeningPolicy,
    SpeechStarted,
    SpeechStopped,
)
from runtime.voice.speaking import SpokenTurn, Timings
from runtime.voice.types import SAMPLE_RATE, Pcm, SpeechError, SpeechUnavailable
from runtime.voice.vad import Vad, load_vad

log = structlog.get_logger(__name__)

# Frames may run ahead of the clock by this much (a client catching up after a stall),
# no more: faster than real time is a client flooding the recognizer.
MAX_AHEAD_MS = 2_000
# After playback.stop, how long the page's final played_ms is awaited before the server's
# own estimate (time since the audio started) stands in for it.
PLAYED_REPORT_WAIT_S = 0.5
# A turn's audio counts as played this long after it should have ended, if the page never
# says so (a page that does not report must not leave the interviewer "speaking" for ever).
PLAYBACK_GRACE_MS = 1_500
# Re-prompts per interviewer turn: after these, the session's own idle timeout decides.
MAX_REPROMPTS = 2


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
        self._turns: dict[str, LoggedTurn] = {}
        self._latest: LoggedTurn | None = None
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
        self._utterances: list[Utterance] = []
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
            self._end_turn()
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
                    turn = LoggedTurn(event.turn_id)
                    self._turns[event.turn_id] = turn
                self._latest = turn
            elif isinstance(event, TurnDelta):
                turn = self._turns.setdefault(event.turn_id, LoggedTurn(event.turn_id))
                turn.text += event.text
                if self._speaking is not None and self._speaking.turn_id == turn.id:
                    self._speaking.feed(event.text)
            elif isinstance(event, TurnCompleted):
                turn = self._turns.setdefault(event.turn_id, LoggedTurn(event.turn_id))
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
            utterance = Utterance(event, time.perf_counter())
            utterance.recognized = self._spawn(self._recognize(utterance))
            self._utterances.append(utterance)
            self._drop_encoding()
            self._storing = self._encoding(self._utterances)
        elif isinstance(event, EndOfTurn):
            if self._talk == "push" and event.reason == "silence":
                return  # the respondent says when they are done
            self._end_turn()
        elif isinstance(event, Idle):
            self._reprompt()

    async def _recognize(self, utterance: Utterance) -> str | None:
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

    def _end_turn(self) -> None:
        utterances, self._utterances = self._utterances, []
        storing, self._storing = self._storing, None
        if not utterances:
            return
        timings = TurnTimings(end_of_turn=time.perf_counter())
        self._spawn(self._commit(utterances, timings, storing or self._encoding(utterances)))

    def _encoding(self, utterances: list[Utterance]) -> asyncio.Task[clips.AudioRef]:
        """The turn's audio so far, encoded and stored. Started as each utterance stops, so
        the end-of-turn window (400 ms past the stop at `normal`) covers the encoding and the
        answer does not wait for it (bench.voice measured 230 ms on the answer's way when it
        began at the end of turn, with ffmpeg); speech that resumes drops it (`_drop_encoding`)."""
        first = utterances[0].stopped
        return self._spawn(
            clips.store_clip(
                self._parts.blobs,
                self._session_id,
                Pcm(joined(utterances), SAMPLE_RATE),
                self._offset_ms + first.pcm_start_ms,
            )
        )

    def _drop_encoding(self) -> None:
        if self._storing is not None:
            self._spawn(self._discard(self._storing))
            self._storing = None

    async def _commit(
        self,
        utterances: list[Utterance],
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
                try:
                    clip: clips.AudioRef | None = await storing
                except Exception as exc:
                    # The words are kept without their audio (ffmpeg missing or failing).
                    log.warning("voice.clip_failed", session_id=self._session_id, error=str(exc))
                    clip = None
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
                    await self._send(error_frame(exc.code, exc.message))
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
        offset = self._offset_ms + self._audio_started_ms
        turn = self._turns.get(spoken.turn_id)
        await turn_audio.keep(
            self._parts, self._session_id, spoken, turn, played_ms, offset, interrupted
        )

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
        log.warning("voice.speech_error", session_id=self._session_id, stage=stage, error=str(exc))
        await self._send(speech_error_frame(stage, exc))

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
