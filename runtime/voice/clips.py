"""Voice turns kept: PCM encoded to Ogg Opus by ffmpeg and stored in the blob store."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import av
import msgspec

from runtime.stores.blobs import BlobStore
from runtime.voice.types import SAMPLE_WIDTH, Pcm, SpeechFailed

CONTENT_TYPE = "audio/ogg"
# 16 kbit/s Opus tuned for speech: 7.2 MB per hour of one channel (the limit is 12 MB).
BITRATE = 16_000
OPUS_RATE = 48_000  # what Opus runs at inside; any input rate is resampled to it
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


async def encode_opus(pcm: Pcm) -> bytes:
    """The samples as mono Ogg Opus (libopus, 16 kbit/s, application voip), encoded in this
    process by PyAV (its wheel carries libopus: no ffmpeg binary needed), in a thread: it
    releases the GIL, so the live sessions on the loop never wait for it. bench.voice: a
    ffmpeg process per clip cost 110-150 ms of CPU, this 30-45 ms."""
    if not pcm.data or len(pcm.data) % SAMPLE_WIDTH:
        raise ValueError("a clip is a whole number of 16-bit samples, at least one")
    if pcm.sample_rate <= 0:
        raise SpeechFailed("encode_failed", retryable=False)
    try:
        async with asyncio.timeout(ENCODE_TIMEOUT_SECONDS):
            return await asyncio.to_thread(_encode, pcm)
    except TimeoutError as exc:
        raise SpeechFailed("encode_timeout") from exc
    except (av.FFmpegError, ValueError) as exc:
        raise SpeechFailed("encode_failed", retryable=False) from exc


def _encode(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = BITRATE
        # Level 5 of 10: the same size for speech at 16 kbit/s, a fifth less CPU.
        stream.options = {"application": "voip", "compression_level": "5"}
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm.data) // SAMPLE_WIDTH)
        frame.planes[0].update(pcm.data)
        frame.sample_rate = pcm.sample_rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return out.getvalue()


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
