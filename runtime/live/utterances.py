"""One recorded utterance as the respondent's answer: for clients that cannot stream audio."""

from __future__ import annotations

import uuid

from runtime.live import conversation
from runtime.live.voice_open import voice_session
from runtime.live.voice_parts import VoiceParts
from runtime.platform.clock import utcnow
from runtime.platform.errors import (
    Conflict,
    DomainError,
    PayloadTooLarge,
    Unavailable,
    UpstreamFailed,
    ValidationError,
)
from runtime.sessions import store as sessions
from runtime.voice import clips, decoding
from runtime.voice.types import SAMPLE_RATE, SpeechError, SpeechFailed, SpeechUnavailable

# What a recording may be sent as (the container is then found from the bytes).
CONTENT_TYPES = ("audio/webm", "audio/ogg", "audio/wav", "audio/x-wav", "audio/mpeg")
# One utterance: as long as the live listener lets one run (runtime/voice/listening.py).
MAX_UTTERANCE_MS = 60_000


class NotAudio(ValidationError):
    code = "not_audio"


class NoSpeech(ValidationError):
    code = "no_speech"


class SpeechProviderFailed(UpstreamFailed):
    """The recognizer failed or timed out: nothing is stored, the respondent may type."""

    code = "speech_failed"


class SpeechProviderUnavailable(Unavailable):
    """No recognizer here (not installed, or not for the interview's language)."""

    code = "speech_unavailable"


def speech_error(exc: SpeechError) -> DomainError:
    """A speech engine's failure as the API answers it."""
    if isinstance(exc, SpeechUnavailable):
        return SpeechProviderUnavailable(f"speech recognition is not available here: {exc}")
    reason = exc.reason if isinstance(exc, SpeechFailed) else "failed"
    return SpeechProviderFailed(
        f"speech recognition failed ({reason}); nothing was stored: send it again or type"
    )


def content_type_of(header: str) -> str:
    kind = header.split(";")[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise ValidationError(
            "Content-Type must be one of: " + ", ".join(CONTENT_TYPES), field="content_type"
        )
    return kind


async def say_recorded(
    parts: VoiceParts, session_id: str, audio: bytes, content_type: str, client_message_id: str
) -> tuple[sessions.PostedMessage, str]:
    """Recognize `audio` and store it as the respondent's voice message (the same as a
    streamed turn); returns the message and the recognized text."""
    kind = content_type_of(content_type)
    if not audio:
        raise NotAudio("the body is empty: send the recording's bytes")
    session, interview = await voice_session(parts.db, session_id)
    if session.status != "in_progress":
        raise Conflict(f"the session is {session.status}: nothing more can be said")
    try:
        pcm = await decoding.to_pcm(audio, kind, SAMPLE_RATE)
    except SpeechFailed as exc:
        raise NotAudio(
            "the body is not audio ffmpeg can read (send webm/opus, ogg, wav or mp3)"
        ) from exc
    except SpeechUnavailable as exc:
        raise speech_error(exc) from exc
    duration_ms = round(pcm.duration * 1000)
    if duration_ms > MAX_UTTERANCE_MS:
        raise PayloadTooLarge(
            f"an utterance is at most {MAX_UTTERANCE_MS // 1000} s (this one is "
            f"{duration_ms / 1000:.1f} s)"
        )
    if not pcm.data:
        raise NotAudio("the recording holds no audio")
    try:
        transcript = await parts.stt.transcribe(
            pcm.data, f"audio/L16;rate={SAMPLE_RATE}", interview.language
        )
    except SpeechError as exc:
        raise speech_error(exc) from exc
    text = transcript.text.strip()
    if not text:
        raise NoSpeech("no speech was heard in the recording: nothing was stored")
    ended_ms = int((utcnow() - session.created_at).total_seconds() * 1000)
    clip = await clips.store_clip(parts.blobs, session_id, pcm, max(0, ended_ms - duration_ms))
    try:
        posted = await conversation.say(
            parts,
            session_id,
            text,
            client_message_id or f"voice-{uuid.uuid4().hex}",
            modality="voice",
            audio=clip,
        )
    except BaseException:
        await parts.blobs.delete(clip.key)  # refused (ended, not its turn): nothing kept
        raise
    if not posted.created:
        await parts.blobs.delete(clip.key)  # a retry: the first one's clip is the message's
    return posted, text
