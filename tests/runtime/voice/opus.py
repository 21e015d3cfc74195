"""What ffprobe says of Ogg Opus bytes: for the tests of stored voice clips."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Probed:
    format_name: str
    codec: str
    channels: int
    duration_ms: float


def probe(data: bytes) -> Probed:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.ogg"
        path.write_bytes(data)
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries",
             "format=format_name,duration:stream=codec_name,channels", "-of", "json", str(path)],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
    found = json.loads(out)
    (stream,) = found["streams"]
    return Probed(
        found["format"]["format_name"],
        stream["codec_name"],
        int(stream["channels"]),
        float(found["format"]["duration"]) * 1000,
    )
