"""What the voice channel is made of: the parts it needs, what it reads of its interview, what
it keeps of a turn, and where its output goes (runtime/live/voice_channel.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from runtime.interviews import voice as interview_voice
from runtime.live import conversation
from runtime.stores.blobs import BlobStore
from runtime.voice.listening import Eagerness, SpeechStopped
from runtime.voice.stt import SpeechToText
from runtime.voice.tts import TextToSpeech
from runtime.voice.types import SAMPLE_RATE, SAMPLE_WIDTH, SpeechError, SpeechUnavailable

# How long a respondent's answer, or a turn's audio, waits for the interviewer's turn it
# follows to be stored.
TURN_SETTLE_WAIT_S = 60.0

Talk = Literal["open", "push"]
VoiceState = Literal["listening", "thinking", "speaking"]


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
class LoggedTurn:
    """An interviewer turn as the log tells it."""

    id: str
    text: str = ""
    completed: bool = False
    answered: bool = False  # a respondent message followed it
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # stored (turn.completed)


@dataclass
class Utterance:
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


def joined(utterances: list[Utterance]) -> bytes:
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


def error_frame(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}


def speech_error_frame(stage: str, exc: SpeechError) -> dict[str, Any]:
    """What the respondent is told when recognition or synthesis fails: type instead."""
    code = "speech_unavailable" if isinstance(exc, SpeechUnavailable) else "speech_failed"
    what = "hear you" if stage == "recognition" else "speak"
    return {
        "type": "voice.error",
        "error": {
            "code": code,
            "message": f"Voice is not working right now (could not {what}); "
            "please type your answer instead.",
            "stage": stage,
        },
        "fallback": "text",
    }
