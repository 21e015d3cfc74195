"""schemathesis hooks (SCHEMATHESIS_HOOKS): bodies for the raw audio upload's media types."""

from __future__ import annotations

import io
import wave

import schemathesis
from hypothesis import strategies as st

from runtime.transcripts import audio


def _silence_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    return buffer.getvalue()


# A real recording, or bytes that are not one: the endpoint must answer both as documented.
_BODIES = st.one_of(st.just(_silence_wav()), st.binary(max_size=256))

for media_type, _ in audio.FORMATS.values():
    schemathesis.openapi.media_type(media_type, _BODIES)
