"""bench.voice's respondents: voice channels driven in this process at real-time pace; text ones.

A voice respondent streams 20 ms frames on the clock (silence, then its answer when the
interviewer's turn has played), acknowledges playback as a page does, and keeps every mark
the channel and the outlet give it. A text respondent answers through `conversation.say`.
Each answer carries a marker (`[v3.1]`: session 3, answer 1) so its LLM request can be found
among the upstream's arrivals.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bench.scenario import answer
from runtime.live import conversation
from runtime.live.events import StoredEvent, TurnCompleted
from runtime.live.voice_channel import ChannelSettings, VoiceChannel
from runtime.services import Services
from runtime.voice.frames import FRAME_BYTES, FRAME_MS
from runtime.voice.types import Transcript
from tests.runtime.voice.speech import silence

FRAME_S = FRAME_MS / 1000
WAIT_S = 60.0
# A respondent starts to answer 300 ms to 3 s after the interviewer's audio has played
# (seeded per session): sessions in lockstep would all end their turns in the same frame.
ANSWER_AFTER_MS = (300, 3000)
# A text respondent reads and types for this long (and up to a second more) before answering.
TYPING_S = 3.0


class FixedSpeech:
    """Instant STT: every utterance is heard as `text` (the respondent sets it per answer)."""

    def __init__(self) -> None:
        self.text = ""

    async def transcribe(
        self,
        audio: bytes,
        content_type: str,
        language: str | None = None,
        *,
        segments: bool = False,
    ) -> Transcript:
        return Transcript(self.text, language, len(audio) / (2 * 16_000))


class CannedVoice:
    """Instant TTS: every sentence is the same precomputed PCM, yielded at once."""

    def __init__(self, pcm: bytes, sample_rate: int) -> None:
        self.pcm = pcm
        self._rate = sample_rate

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def stream(
        self, text: str, voice: str | None = None, rate: float = 1.0
    ) -> AsyncIterator[bytes]:
        yield self.pcm

    def voice_for(self, language: str) -> str | None:
        return None


def marked(kind: str, session: int, index: int) -> tuple[str, str]:
    """The answer said (or typed) and its marker."""
    marker = f"[{kind}{session}.{index}]"
    return marker, f"{answer(index)} {marker}"


@dataclasses.dataclass
class Played:
    turn_id: str
    kind: str
    started: float  # perf_counter() of the turn's first audio handed to the outlet
    duration_ms: int = 0
    ended: bool = False  # audio.ended sent: all of it is out


class TimedOutlet:
    """The socket's stand-in: when each interviewer turn's first audio was handed over."""

    def __init__(self) -> None:
        self.played: list[Played] = []
        self._current: Played | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "audio.started":
            self._current = Played(message["turn_id"], message["kind"], 0.0)
        elif kind == "audio.ended" and self._current is not None:
            self._current.duration_ms = int(message["duration_ms"])
            self._current.ended = True

    async def send_audio(self, pcm: bytes) -> None:
        if self._current is not None and not self._current.started:
            self._current.started = time.perf_counter()
            self.played.append(self._current)


@dataclasses.dataclass
class Answered:
    """One answer given: its marker and, when spoken, the moment its speech ended."""

    marker: str
    at: float  # voice: the last frame of speech pushed; text: conversation.say called


class VoiceRespondent:
    """One voice session: a channel fed frames at real time by `run`, `turns` answers long."""

    def __init__(
        self,
        services: Services,
        session_id: str,
        index: int,
        speech: bytes,
        stt: FixedSpeech | None,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.index = index
        self.speech = speech
        self.stt = stt  # None: the process's own recognizer hears the speech
        self.outlet = TimedOutlet()
        parts = services if stt is None else dataclasses.replace(services, stt=stt)
        self.channel = VoiceChannel(parts, session_id, ChannelSettings(), self.outlet, 0)
        self.answers: list[Answered] = []
        self.lags: list[float] = []  # s, how late each frame was pushed against its schedule
        self._random = random.Random(index)

    async def run(self, turns: int) -> None:
        """Frames on the clock until `turns` answers are given and the turn after the last
        has played."""
        acked = 0
        pending = b""
        speech_left = 0  # bytes of `pending` that are speech still to push
        silent = silence(FRAME_MS)
        next_at = time.perf_counter() + self._random.random() * FRAME_S
        deadline = time.perf_counter() + WAIT_S * (turns + 1)
        while time.perf_counter() < deadline:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lags.append(max(0.0, -delay))
            next_at += FRAME_S
            frame, pending = (
                (pending[:FRAME_BYTES], pending[FRAME_BYTES:])
                if pending
                else (
                    silent,
                    b"",
                )
            )
            await self.channel.frame(frame)
            if speech_left:
                speech_left -= FRAME_BYTES
                if speech_left <= 0:
                    speech_left = 0
                    self.answers[-1].at = time.perf_counter()
            played = [p for p in self.outlet.played if p.kind == "turn"]
            if len(played) > acked and played[acked].ended:
                turn = played[acked]
                if time.perf_counter() < turn.started + turn.duration_ms / 1000:
                    continue  # still playing on the respondent's side
                await self.channel.control(
                    {
                        "type": "playback",
                        "turn_id": turn.turn_id,
                        "played_ms": turn.duration_ms,
                        "ended": True,
                    }
                )
                acked += 1
                if acked > turns:
                    return
                marker, text = marked("v", self.index, acked)
                if self.stt is not None:
                    self.stt.text = text
                self.answers.append(Answered(marker, 0.0))
                pending = silence(self._random.randint(*ANSWER_AFTER_MS)) + self.speech
                speech_left = len(self.speech)
        raise TimeoutError(f"voice session {self.index} did not finish its {turns} answers")


class TextRespondent:
    """One text session: answers with conversation.say once each turn is stored."""

    def __init__(self, services: Services, session_id: str, index: int) -> None:
        self.services = services
        self.session_id = session_id
        self.index = index
        self.answers: list[Answered] = []
        self.completed: asyncio.Queue[str] = asyncio.Queue()

    def events(self, batch: list[StoredEvent]) -> None:
        for stored in batch:
            if isinstance(stored.event, TurnCompleted):
                self.completed.put_nowait(stored.event.turn_id)

    async def run(self, turns: int) -> None:
        async with asyncio.timeout(WAIT_S * (turns + 1)):
            await self.completed.get()  # the opening turn
            for index in range(1, turns + 1):
                await asyncio.sleep(TYPING_S + random.random())
                marker, text = marked("t", self.index, index)
                self.answers.append(Answered(marker, time.perf_counter()))
                await conversation.say(self.services, self.session_id, text, uuid.uuid4().hex)
                await self.completed.get()


async def start_session(services: Services, share_token: str) -> str:
    """A session started as the API starts one, its opening turn written."""
    started = await conversation.start(services, share_token, {})
    session_id = str(started.row["id"])
    for task in asyncio.all_tasks():
        if task.get_name() == f"turn:{session_id}":
            await task
    return session_id


@contextlib.asynccontextmanager
async def pumped(services: Services, session_id: str, sink: Any) -> AsyncIterator[None]:
    """The session's log events delivered to `sink.events` as the hub streams them."""
    subscription = await services.hub.open(session_id, "0", True, None)

    async def pump() -> None:
        while True:
            sink.events(await subscription.next(wait=True))

    feeding = asyncio.create_task(pump())
    try:
        yield
    finally:
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding
        await services.hub.release(subscription)


async def run_voice(respondents: list[VoiceRespondent], turns: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for r in respondents:
            await stack.enter_async_context(pumped(r.services, r.session_id, r.channel))
            await r.channel.start()
        try:
            await asyncio.gather(*(r.run(turns) for r in respondents))
        finally:
            await asyncio.gather(*(r.channel.close() for r in respondents))


async def run_text(respondents: list[TextRespondent], turns: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for r in respondents:
            await stack.enter_async_context(pumped(r.services, r.session_id, r))
        await asyncio.gather(*(r.run(turns) for r in respondents))
