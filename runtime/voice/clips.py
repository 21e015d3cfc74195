"""Voice turns kept: PCM encoded to Ogg Opus by ffmpeg and stored in the blob store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec

from runtime.stores.blobs import BlobStore
from runtime.voice import decoding
from runtime.voice.types import SAMPLE_WIDTH, Pcm, SpeechFailed

CONTENT_TYPE = "audio/ogg"
# 16 kbit/s Opus tuned for speech: 7.2 MB per hour of one channel (the limit is 12 MB).
BITRATE = "16k"
# Encoding a minute of speech takes well under a second; this bounds a stuck ffmpeg.
ENCODE_TIMEOUT_SECONDS = 60.0


class AudioRef(msgspec.Struct, frozen=True, kw_only=True):
    """A stored clip, as a message's metadata references it (`audio`)."""

    key: str
    content_type: str
    duration_ms: int
    offset_ms: int  # where the clip begins, in ms after the session's created_at
    size_bytes: int

    def stored(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


def clip_prefix(session_id: str) -> str:
    """Every clip of the session is under it (and no other session's)."""
    return f"voice/{session_id}/"


def clip_key(session_id: str, clip_id: str) -> str:
    return f"{clip_prefix(session_id)}{clip_id}.ogg"


async def encode_opus(pcm: Pcm, ffmpeg: str = "ffmpeg") -> bytes:
    """The samples as mono Ogg Opus (libopus, 16 kbit/s, application voip)."""
    if not pcm.data or len(pcm.data) % SAMPLE_WIDTH:
        raise ValueError("a clip is a whole number of 16-bit samples, at least one")
    args = [decoding.found(ffmpeg, "ffmpeg"), "-nostdin", "-v", "error"]
    args += ["-f", "s16le", "-ar", str(pcm.sample_rate), "-ac", "1", "-i", "pipe:0"]
    args += ["-c:a", "libopus", "-b:a", BITRATE, "-application", "voip", "-f", "ogg", "pipe:1"]
    try:
        async with asyncio.timeout(ENCODE_TIMEOUT_SECONDS):
            code, out, _ = await decoding.run(args, pcm.data)
    except TimeoutError as exc:
        raise SpeechFailed("encode_timeout") from exc
    if code != 0 or not out:
        raise SpeechFailed("encode_failed")
    return out


async def store_clip(blobs: BlobStore, session_id: str, pcm: Pcm, offset_ms: int) -> AudioRef:
    """Encode the clip and put it under a fresh `voice/<session>/<clip>.ogg` key."""
    data = await encode_opus(pcm)
    key = clip_key(session_id, uuid.uuid4().hex)
    await blobs.put(key, data, CONTENT_TYPE)
    return AudioRef(
        key=key,
        content_type=CONTENT_TYPE,
        duration_ms=round(pcm.duration * 1000),
        offset_ms=offset_ms,
        size_bytes=len(data),
    )
