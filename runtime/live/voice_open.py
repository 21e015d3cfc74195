"""Opening a voice channel: its session and interview checked, the format agreed, the log read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, select

from runtime.interviews import voice as interview_voice
from runtime.live.eventlog import read_all
from runtime.live.events import PRIVATE_EVENTS
from runtime.live.voice_channel import VoiceChannel
from runtime.live.voice_parts import ChannelSettings, Outlet, Talk, VoiceParts
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, ValidationError
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.voice.frames import FRAME_MS
from runtime.voice.types import SAMPLE_RATE


async def voice_session(db: Database, session_id: str) -> tuple[Row[Any], Row[Any]]:
    """The session and its interview, refused (mode_not_enabled) unless it takes voice."""
    async with db.connect() as conn:
        session = await sessions.row(conn, session_id)
        interview = (
            await conn.execute(
                select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
            )
        ).one()
    interview_voice.require_mode(interview, "voice")
    return session, interview


def input_format(start: Mapping[str, Any]) -> Talk:
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
    talk = input_format(start)
    session, interview = await voice_session(parts.db, session_id)
    if session.status != "in_progress":
        raise Conflict(f"the session is {session.status}: there is nothing to say")
    offset = max(0, int((utcnow() - session.created_at).total_seconds() * 1000))
    channel = VoiceChannel(
        parts, session_id, ChannelSettings.of(dict(interview._mapping)), outlet, offset, talk
    )
    said = await read_all(parts.events, session_id)
    channel.prime([e for e in said if e.type not in PRIVATE_EVENTS])
    await channel.start()
    return channel
