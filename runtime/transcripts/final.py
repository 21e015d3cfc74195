"""A voice session's final transcript: its clips heard again with segments once it has ended,
every voice message placed on the session timeline, captions and the stereo recording kept."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy import exists, select, update

from runtime.platform.errors import NotFound
from runtime.platform.settings import Settings
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.stores.jobs import MAX_RETRY_DELAY_SECONDS, JobQueue
from runtime.transcripts import artifacts, recording
from runtime.transcripts.captions import Cue, in_order, spread, srt, webvtt
from runtime.voice import engines
from runtime.voice.openai_speech import OpenAISpeechToText
from runtime.voice.stt import SpeechToText
from runtime.voice.types import Segment, SpeechError, SpeechFailed

log = structlog.get_logger(__name__)
s, m, a = schema.sessions, schema.messages, schema.artifacts
JOB_FUNCTION = "finalize_voice"
ENDED = ("completed", "abandoned")
SPEAKERS = {"respondent": "Respondent", "interviewer": "Interviewer"}
CAPTION_TYPES = {"vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}
# The last file the job writes: once it is recorded, the session's final transcript is done.
DONE_KIND = artifacts.CAPTIONS_KINDS["vtt"]
BATCH = 200  # sessions the upkeep looks at per pass
# The sweeper looks this far back at every pass for voice sessions that ended (the upkeep,
# every export_upkeep_seconds, looks at all of them).
RECENT = timedelta(minutes=1)


class QueueParts(Protocol):
    """What queueing the final pass needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: Database
    jobs: JobQueue


class FinalParts(QueueParts, Protocol):
    """What the final pass itself needs besides."""

    blobs: BlobStore


class NotYet(Exception):
    """The session still owes a turn (its audio is not stored yet): the job is retried."""


def job_key(session_id: str) -> str:
    return f"voice-final:{session_id}"


@dataclass(frozen=True)
class VoiceMessage:
    id: str
    role: str
    content: str
    metadata: Mapping[str, Any]

    @property
    def audio(self) -> Mapping[str, Any]:
        return self.metadata["audio"]  # type: ignore[no-any-return]

    @property
    def start_ms(self) -> int:
        return int(self.audio["offset_ms"])

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.audio["duration_ms"])

    @property
    def final(self) -> Mapping[str, Any] | None:
        final = self.metadata.get("final")
        return final if isinstance(final, Mapping) else None


def voice_messages(rows: Sequence[Mapping[str, Any]]) -> list[VoiceMessage]:
    """The messages with a stored clip (metadata `modality` voice and `audio`), in order."""
    out = []
    for row in rows:
        meta = row["metadata"] or {}
        if meta.get("modality") == "voice" and isinstance(meta.get("audio"), Mapping):
            out.append(VoiceMessage(row["id"], row["role"], row["content"], meta))
    return out


def records_session(interview: Mapping[str, Any]) -> bool:
    """The interview's `record_session` (runtime/interviews/voice.py)."""
    return bool(interview.get("record_session"))


async def enqueue(parts: QueueParts, session_id: str, *, at_once: bool = False) -> bool:
    """Queue the session's final pass (after voice_final_delay_seconds, unless `at_once`);
    False when it already is queued or running (the key de-duplicates)."""
    settings = parts.settings
    delay = 0.0 if at_once else settings.voice_final_delay_seconds
    job = await parts.jobs.enqueue(
        JOB_FUNCTION,
        key=job_key(session_id),
        heartbeat=settings.job_heartbeat_seconds,
        retries=settings.voice_final_attempts,
        retry_delay=settings.voice_final_retry_delay_seconds,
        retry_backoff=MAX_RETRY_DELAY_SECONDS,
        scheduled=int(time.time() + delay) if delay > 0 else 0,
        session_id=session_id,
    )
    return job is not None


async def has_voice(db: Database, session_id: str) -> bool:
    async with db.connect() as conn:
        return bool((await conn.execute(select(_voice_message(s.c.id == session_id)))).scalar())


def _voice_message(*where: Any) -> Any:
    # `metadata->>'modality'` on PostgreSQL, json_extract on SQLite.
    modality = m.c.metadata["modality"].as_string()
    return exists().where(m.c.session_id == s.c.id, modality == "voice").where(*where)


async def after_end(parts: QueueParts, session_id: str) -> bool:
    """Queue the final pass of a session that just ended, if it has voice messages; an
    enqueue that fails is left to the upkeep (`requeue`), never fails the ending."""
    try:
        if await has_voice(parts.db, session_id):
            return await enqueue(parts, session_id)
    except Exception:
        log.warning("voice_final.enqueue_failed", session_id=session_id, exc_info=True)
    return False


async def requeue(parts: QueueParts, ended_after: datetime | None = None) -> int:
    """Queue the final pass of ended voice sessions that have none yet; how many were queued.
    With `ended_after`, only sessions whose last activity (their end) came after it: the
    sweeper's every pass, for sessions ended by their interviewer's last turn (which queues
    nothing itself), cheap on ix_sessions_status_awaiting_activity. Without: all of them, at
    once, for the upkeep (an enqueue lost with Redis, a sweeper that was down)."""
    done = exists().where(a.c.session_id == s.c.id, a.c.kind == DONE_KIND)
    query = select(s.c.id).where(s.c.status.in_(ENDED), _voice_message(), ~done)
    if ended_after is not None:
        query = query.where(s.c.awaiting == "respondent", s.c.last_activity_at > ended_after)
    async with parts.db.connect() as conn:
        found = await conn.execute(query.order_by(s.c.last_activity_at).limit(BATCH))
        ids = [r.id for r in found]
    queued = 0
    for session_id in ids:
        queued += await enqueue(parts, session_id, at_once=ended_after is None)
    return queued


@dataclass
class Finalized:
    session_id: str
    messages: int = 0  # voice messages placed on the timeline
    heard: int = 0  # respondent clips with a final text
    kept_live: list[str] = field(default_factory=list)  # why a clip kept only its live text
    files: list[str] = field(default_factory=list)  # blob keys written

    def result(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "messages": self.messages,
            "heard": self.heard,
            "kept_live": self.kept_live,
            "files": self.files,
        }


async def finalize(parts: FinalParts, session_id: str, *, last_attempt: bool) -> Finalized:
    """The whole pass; safe to run again (clips already heard are not heard again, files are
    rewritten under the same keys). A speech failure that may pass raises, to be retried,
    except on the `last_attempt`: then the clip keeps its live text. NotFound: erased."""
    db = parts.db
    async with db.connect() as conn:
        session = await sessions.row(conn, session_id)
        found = await conn.execute(
            select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
        )
        interview = dict(found.one()._mapping)
        rows = [dict(r._mapping) for r in await sessions.messages(conn, session_id)]
    if session.status not in ENDED or session.awaiting == "interviewer":
        raise NotYet(f"session {session_id} has not ended, or still owes a turn")
    voiced = voice_messages(rows)
    done = Finalized(session_id, messages=len(voiced))
    if not voiced:
        return done
    await _place(db, voiced)
    stt = engines.final_speech_to_text(parts.settings)
    try:
        finals = await _hear(parts, stt, interview, voiced, done, last_attempt)
    finally:
        if isinstance(stt, OpenAISpeechToText):
            await stt.close()
    if records_session(interview):
        await _record(parts, session_id, voiced, done)
    cues = in_order(cue for message in voiced for cue in _cues(message, finals.get(message.id)))
    # Captions last: their record says the pass is done (the upkeep looks for it).
    for fmt, text in (("srt", srt(cues)), ("vtt", webvtt(cues))):
        key = captions_key(session_id, fmt)
        data = text.encode()
        await parts.blobs.put(key, data, CAPTION_TYPES[fmt])
        await artifacts.save_or_discard(
            db, parts.blobs, session_id, artifacts.CAPTIONS_KINDS[fmt], key,
            CAPTION_TYPES[fmt], len(data),
        )  # fmt: skip
        done.files.append(key)
    return done


def captions_key(session_id: str, fmt: str) -> str:
    return f"captions/{session_id}.{fmt}"


def recording_key(session_id: str) -> str:
    return f"recording/{session_id}.ogg"


async def _place(db: Database, voiced: Sequence[VoiceMessage]) -> None:
    """Every voice message's start and end on the session timeline."""
    for message in voiced:
        if (message.metadata.get("start_ms"), message.metadata.get("end_ms")) != (
            message.start_ms,
            message.end_ms,
        ):
            await _merge(db, message.id, start_ms=message.start_ms, end_ms=message.end_ms)


async def _merge(db: Database, message_id: str, **values: Any) -> None:
    """Set keys of a message's metadata, leaving the others as they are now."""
    async with db.begin() as conn:
        query = select(m.c.metadata).where(m.c.id == message_id).with_for_update()
        found = (await conn.execute(query)).first()
        if found is None:
            raise NotFound(f"no message {message_id}")  # erased meanwhile
        await conn.execute(
            update(m).where(m.c.id == message_id).values(metadata={**found.metadata, **values})
        )


async def _hear(
    parts: FinalParts,
    stt: SpeechToText,
    interview: Mapping[str, Any],
    voiced: Sequence[VoiceMessage],
    done: Finalized,
    last_attempt: bool,
) -> dict[str, Mapping[str, Any]]:
    """Each respondent clip's final transcript (by message id), heard now or before."""
    settings = parts.settings
    finals: dict[str, Mapping[str, Any]] = {}
    for message in voiced:
        if message.role != "respondent":
            continue
        if message.final is not None:
            finals[message.id] = message.final
            continue
        audio = await parts.blobs.read(message.audio["key"])
        try:
            heard = await stt.transcribe(
                audio, message.audio["content_type"], interview.get("language"), segments=True
            )
        except SpeechError as exc:
            reason = exc.reason if isinstance(exc, SpeechFailed) else str(exc)
            if isinstance(exc, SpeechFailed) and exc.retryable and not last_attempt:
                raise
            log.warning("voice_final.kept_live", message_id=message.id, reason=reason)
            done.kept_live.append(f"{message.id}: {reason}")
            continue
        final = {
            "text": heard.text,
            "engine": settings.stt_final_engine or settings.stt_engine,
            "model": engines.final_model(settings),
            "segments": [seg.stored() for seg in _inside(heard.segments, message)],
        }
        await _merge(parts.db, message.id, final=final)
        finals[message.id] = final
        done.heard += 1
    return finals


def _inside(segments: Sequence[Segment], message: VoiceMessage) -> list[Segment]:
    """The segments within the clip: an engine's times past its end are cut to it."""
    length = message.end_ms - message.start_ms
    out = []
    for seg in segments:
        start = min(max(seg.start_ms, 0), length)
        out.append(Segment(start, min(max(seg.end_ms, start), length), seg.text))
    return out


def _cues(message: VoiceMessage, final: Mapping[str, Any] | None) -> list[Cue]:
    speaker = SPEAKERS.get(message.role, message.role.title())
    if final is None or not final.get("segments"):
        # The interviewer's turn (or a clip that was not heard again): its text over its clip.
        return spread(message.start_ms, message.end_ms, speaker, message.content)
    cues = []
    for seg in final["segments"]:
        begins, ends = message.start_ms + seg["start_ms"], message.start_ms + seg["end_ms"]
        cues += spread(begins, ends, speaker, seg["text"])
    return cues


async def _record(
    parts: FinalParts, session_id: str, voiced: Sequence[VoiceMessage], done: Finalized
) -> None:
    clips = []
    for message in voiced:
        channel: recording.Channel = "left" if message.role == "respondent" else "right"
        audio = await parts.blobs.read(message.audio["key"])
        clips.append(recording.Placed(channel, message.start_ms, audio))
    key = recording_key(session_id)
    with tempfile.TemporaryDirectory(prefix="rapport-recording-") as workdir:
        path, duration_ms = await recording.mix(clips, Path(workdir))
        size = await artifacts.upload_file(parts.blobs, key, recording.CONTENT_TYPE, path)
    await artifacts.save_or_discard(
        parts.db, parts.blobs, session_id, artifacts.RECORDING_KIND, key,
        recording.CONTENT_TYPE, size, duration_ms=duration_ms,
    )  # fmt: skip
    done.files.append(key)
