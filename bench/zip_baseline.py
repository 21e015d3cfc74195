"""The baseline for bench.exports: the same members written by a bare stream-zip loop.

Run as its own process (importing nothing of Rapport) so its peak RSS is the loop's alone:
`python -m bench.zip_baseline TRANSCRIPTS AUDIO SESSIONS` prints bytes, seconds, rss_mb.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from stream_zip import ZIP_64, ZIP_AUTO, stream_zip


def _read(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(256 * 1024):
            yield chunk


def main(transcripts: str, audio: str, sessions: int) -> dict[str, Any]:
    now = datetime.now()
    audio_size = os.path.getsize(audio)

    def members() -> Iterator[Any]:
        yield "transcripts.json", now, 0o600, ZIP_64, _read(transcripts)
        for n in range(sessions):
            yield f"audio/{n}.webm", now, 0o600, ZIP_AUTO(audio_size, level=0), _read(audio)
        yield "manifest.json", now, 0o600, ZIP_64, (b"{}",)

    started = time.perf_counter()
    size = sum(len(c) for c in stream_zip(members(), chunk_size=256 * 1024))
    took = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"bytes": size, "seconds": took, "rss_mb": rss}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
