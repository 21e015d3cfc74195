"""The test upstream's speech endpoints: text spoken as tones, and tones heard back as text.

`POST /v1/audio/speech` answers raw PCM (16-bit, mono, SPEECH_RATE Hz, as OpenAI's `pcm`),
streamed a character at a time: each character of the input is a sine of CHAR_SECONDS whose
frequency names it (`frequency`), so the audio's length is proportional to the text.
`POST /v1/audio/transcriptions` takes the multipart upload the openai client sends and reads
a WAV back the same way (`heard`): what the speech endpoint said is transcribed exactly, at
any sample rate; silence is heard as "". Asked for `verbose_json`, it answers segments too:
each run of tones between silences of at least GAP_SECONDS is one, timed in seconds from
the upload's start (`segments_heard`). The model name picks failures as for chat
completions: `mock:400`, `mock:500`, `mock:stall-first` (nothing for STALL_SECONDS),
`mock:cut` (the connection dropped halfway through the body).
"""

from __future__ import annotations

import array
import asyncio
import email.parser
import email.policy
import io
import itertools
import json
import math
import sys
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

SPEECH_RATE = 24_000
CHAR_SECONDS = 0.1
LOWEST_HZ, STEP_HZ = 300.0, 40.0  # a character's tone: LOWEST_HZ + STEP_HZ * its index
ALPHABET = "".join(chr(c) for c in range(32, 127))  # printable ASCII; anything else is "?"
AMPLITUDE = 8000
SILENT = 200  # a peak below this is silence
FAILURES = ("400", "500", "stall-first", "cut")
STALL_SECONDS = 60.0
GAP_SECONDS = 0.3  # silence this long between tones ends a segment


class CutConnection(Exception):
    """Raised inside a streamed body: the server drops the connection mid-response."""


@dataclass(frozen=True)
class Heard:
    """One request to a speech endpoint, as the test upstream saw it."""

    path: str
    model: str
    fields: dict[str, str]  # the form fields or JSON body, but the file
    upload_type: str | None = None  # the file part's content type
    sample_rate: int | None = None  # the uploaded WAV's


@dataclass
class AudioState:
    requests: list[Heard] = field(default_factory=list)


def frequency(char: str) -> float:
    index = ALPHABET.find(char)
    return LOWEST_HZ + STEP_HZ * (index if index >= 0 else ALPHABET.index("?"))


def tone(char: str, rate: int = SPEECH_RATE) -> bytes:
    """One character's sine, as 16-bit little-endian samples."""
    step = 2 * math.pi * frequency(char) / rate
    count = round(CHAR_SECONDS * rate)
    samples = array.array("h", (round(AMPLITUDE * math.sin(step * n)) for n in range(count)))
    return _little_endian(samples).tobytes()


def heard(samples: array.array[int], rate: int) -> str:
    """The characters a run of tones spells: each tone's frequency from its zero crossings,
    counted in its middle (resampling blurs the edges)."""
    if not samples or max(abs(s) for s in samples) < SILENT:
        return ""
    per_char = round(CHAR_SECONDS * rate)
    text = []
    for start in range(0, len(samples) - per_char // 2, per_char):
        middle = samples[start + per_char // 5 : start + per_char * 4 // 5]
        crossings = sum(1 for a, b in itertools.pairwise(middle) if (a < 0) != (b < 0))
        hz = crossings / 2 / (len(middle) / rate)
        index = round((hz - LOWEST_HZ) / STEP_HZ)
        text.append(ALPHABET[index] if 0 <= index < len(ALPHABET) else "?")
    return "".join(text)


def segments_heard(samples: array.array[int], rate: int) -> list[tuple[float, float, str]]:
    """(start, end, text) of each run of tones, in seconds from the first sample."""
    window = round(CHAR_SECONDS * rate / 4)
    loud = [
        max((abs(s) for s in samples[at : at + window]), default=0) >= SILENT
        for at in range(0, len(samples), window)
    ]
    gap = round(GAP_SECONDS * rate / window)
    runs: list[tuple[int, int]] = []  # in windows
    for index, on in enumerate(loud):
        if not on:
            continue
        if runs and index - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    out = []
    for first, last in runs:
        # To the sample: where the first tone rises and the last one falls silent.
        span = range(first * window, min(last * window, len(samples)))
        begins = next(i for i in span if abs(samples[i]) >= SILENT)
        ends = next(i for i in reversed(span) if abs(samples[i]) >= SILENT) + 1
        run = samples[begins:ends]
        chars = max(1, round(len(run) / (CHAR_SECONDS * rate)))
        text = heard(run[: round(chars * CHAR_SECONDS * rate)], rate)
        out.append((begins / rate, ends / rate, text))
    return out


def _little_endian(samples: array.array[int]) -> array.array[int]:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _mode(name: str) -> str | None:
    mode = name.partition(":")[2]
    return mode if mode in FAILURES else None


def _error(status: int, message: str) -> Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


async def _body(mode: str | None, parts: list[bytes]) -> AsyncIterator[bytes]:
    if mode == "stall-first":
        await asyncio.sleep(STALL_SECONDS)
    for index, part in enumerate(parts):
        if mode == "cut" and index == max(1, len(parts) // 2):
            raise CutConnection("connection cut by the test upstream")
        yield part
        await asyncio.sleep(0)


def routes(state: AudioState) -> dict[str, Callable[[Request], Awaitable[Response]]]:
    """The handlers by path, for the server's route table."""

    async def speech(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        name = str(body.get("model", "mock"))
        state.requests.append(Heard("speech", name, {k: str(v) for k, v in body.items()}))
        mode = _mode(name)
        if mode == "400" or body.get("response_format") != "pcm":
            return _error(400, "only response_format pcm is spoken here")
        if mode == "500":
            return _error(500, "speech exploded")
        parts = [tone(char) for char in str(body.get("input", ""))]
        return StreamingResponse(_body(mode, parts), media_type="audio/pcm")

    async def transcriptions(request: Request) -> Response:
        form = _multipart(request.headers.get("content-type", ""), await request.body())
        upload = form.pop("file", None)
        fields = {key: value.decode() for key, value in form.items()}
        name = fields.get("model", "mock")
        seen = Heard("transcriptions", name, fields)
        if upload is None:
            state.requests.append(seen)
            return _error(400, "no file")
        kind, data = upload
        try:
            with wave.open(io.BytesIO(data)) as read:
                rate, width = read.getframerate(), read.getsampwidth()
                frames = read.readframes(read.getnframes())
        except (wave.Error, EOFError):
            state.requests.append(seen)
            return _error(400, "the test upstream transcribes WAV only")
        state.requests.append(Heard(seen.path, name, seen.fields, kind, rate))
        mode = _mode(name)
        if mode == "400" or width != 2:
            return _error(400, "16-bit WAV only")
        if mode == "500":
            return _error(500, "transcription exploded")
        samples = _little_endian(array.array("h", frames))
        reply: dict[str, Any] = {"text": heard(samples, rate)}
        if fields.get("response_format") == "verbose_json":
            found = segments_heard(samples, rate)
            reply = {
                "task": "transcribe",
                "language": fields.get("language", "english"),
                "duration": len(samples) / rate,
                "text": " ".join(text for _, _, text in found),
                "segments": [_segment(n, *one) for n, one in enumerate(found)],
            }
        answer = json.dumps(reply).encode()
        half = len(answer) // 2
        return StreamingResponse(
            _body(mode, [answer[:half], answer[half:]]), media_type="application/json"
        )

    return {"/v1/audio/speech": speech, "/v1/audio/transcriptions": transcriptions}


def _segment(index: int, start: float, end: float, text: str) -> dict[str, Any]:
    # Every field Whisper's verbose answer has, as OpenAI sends them.
    return {
        "id": index, "seek": 0, "start": start, "end": end, "text": text, "tokens": [],
        "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.0,
    }  # fmt: skip


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields as bytes, and `file` as (its content type, its bytes): the standard
    library reads multipart/form-data as a MIME message."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        form[name] = (part.get_content_type(), payload) if part.get_filename() else payload
    return form
