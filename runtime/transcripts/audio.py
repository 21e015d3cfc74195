"""Recognising an uploaded recording: its container, content type and duration, via ffprobe."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from runtime.platform.errors import ValidationError
from runtime.platform.views import Meta, Timestamp, View

# ffprobe's format names → (content type, file extension) for what browsers record and more.
FORMATS = {
    "matroska,webm": ("audio/webm", "webm"),
    "ogg": ("audio/ogg", "ogg"),
    "mp3": ("audio/mpeg", "mp3"),
    "wav": ("audio/wav", "wav"),
}
_TIME = re.compile(rb"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


@dataclass(frozen=True)
class AudioInfo:
    content_type: str
    extension: str
    duration_ms: int


class Audio(View):
    """A session's stored recording, as the upload answers."""

    content_type: Annotated[str, Meta(description="Detected from the bytes")]
    size_bytes: int
    duration_ms: Annotated[int, Meta(description="The recording's length")]
    uploaded_at: Timestamp


async def _run(*args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out, err


async def probe(path: Path) -> AudioInfo:
    """What the file is; ValidationError unless it is audio in a format we keep."""
    code, out, _ = await _run(
        "ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_type",
        "-of", "json", str(path),
    )  # fmt: skip
    found = json.loads(out or b"{}") if code == 0 else {}
    kind = FORMATS.get(found.get("format", {}).get("format_name", ""))
    streams = [s.get("codec_type") for s in found.get("streams", [])]
    if kind is None or "audio" not in streams:
        names = ", ".join(ext for _, ext in FORMATS.values())
        raise ValidationError(f"the body is not an audio recording in one of: {names}")
    raw = found["format"].get("duration")
    duration = float(raw) if raw not in (None, "N/A") else await _decoded_seconds(path)
    return AudioInfo(kind[0], kind[1], round(duration * 1000))


async def _decoded_seconds(path: Path) -> float:
    # Browser-recorded WebM carries no duration in its header: decode it to find out.
    _, _, err = await _run(
        "ffmpeg", "-nostdin", "-v", "quiet", "-stats", "-i", str(path), "-f", "null", "-"
    )
    matches = _TIME.findall(err)
    if not matches:
        return 0.0
    hours, minutes, seconds = matches[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
