"""An interviewer turn's audio kept once played: its clip stored, the turn cut to what was heard."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from runtime.live.voice_parts import TURN_SETTLE_WAIT_S, LoggedTurn, VoiceParts
from runtime.sessions import store as sessions
from runtime.voice import clips
from runtime.voice.speaking import SpokenTurn

log = structlog.get_logger(__name__)


async def keep(
    parts: VoiceParts,
    session_id: str,
    spoken: SpokenTurn,
    turn: LoggedTurn | None,
    played_ms: int,
    offset_ms: int,
    interrupted: bool,
) -> None:
    """Store what played of `spoken` (`offset_ms` on the session timeline) with its turn,
    once the turn is stored; `interrupted`: a barge-in cut it, and the stored turn becomes
    what was heard. A failure leaves the turn as text (the session may have been erased)."""
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
        clip = await clips.store_clip(parts.blobs, session_id, pcm, offset_ms)
        await sessions.attach_turn_audio(
            parts.db,
            session_id,
            spoken.turn_id,
            clip,
            heard=heard if heard is not None and heard != written else None,
            heard_ms=played_ms if interrupted else None,
        )
    except Exception:
        log.exception("voice.turn_audio_failed", session_id=session_id)
        if clip is not None:
            with contextlib.suppress(Exception):
                await parts.blobs.delete(clip.key)
