"""Test helpers: build a published interview, and read SSE / WebSocket streams as a client would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import websockets

from runtime.stores.database import Database
from runtime.webhooks import outbox

GUIDE = [
    {
        "text": "What do you use our app for?",
        "question_type": "open_ended",
        "follow_up": "Can you give me a recent example?",
    },
    {
        "text": "Which plan are you on?",
        "question_type": "multiple_choice",
        "options": ["Free", "Pro", "Team"],
    },
    {"text": "How likely are you to recommend us?", "question_type": "rating"},
]


# "?", and the full-width and Arabic question marks: a turn with two of them asks two things.
QUESTION_MARKS = re.compile("[?\uff1f\u061f]")


def questions_in(text: str) -> int:
    return len(QUESTION_MARKS.findall(text))


def recorded_answer(transcript: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The answer fields stored for respondent message `index` of a transcript (kind, value,
    value_status, confidence, resolved_by): `messages[].answer` or the turn's fields when the
    transcript has them, else the message's `metadata["answer"]`."""
    messages = transcript["messages"]
    message = messages[index]
    if isinstance(message.get("answer"), dict):
        return dict(message["answer"])
    fields = dict((message.get("metadata") or {}).get("answer") or {})
    turn = sum(1 for m in messages[:index] if m["role"] == "interviewer") - 1
    turns = transcript.get("turns") or []
    if 0 <= turn < len(turns):
        for key in ("kind", "value", "value_status", "confidence", "resolved_by"):
            if key in turns[turn]:
                fields[key] = turns[turn][key]
    return fields


async def published_interview(
    client: httpx.AsyncClient, guide: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {
        "title": "Onboarding study",
        "goal": "Understand first-week experience",
        "context": "B2B SaaS",
        "tone": "warm",
        "language": "en",
        "welcome_message": "Hi, thanks for joining!",
        "closing_message": "That's all, thank you!",
        **fields,
    }
    created = await client.post("/v1/interviews", json=body)
    assert created.status_code == 201, created.text
    interview = created.json()
    section = await client.post(
        f"/v1/interviews/{interview['id']}/sections", json={"title": "Main"}
    )
    assert section.status_code == 201, section.text
    for item in GUIDE if guide is None else guide:
        added = await client.post(
            f"/v1/interviews/{interview['id']}/sections/S1/questions", json=item
        )
        assert added.status_code == 201, added.text
    published = await client.post(f"/v1/interviews/{interview['id']}/publish")
    assert published.status_code == 200, published.text
    return published.json()  # type: ignore[no-any-return]


@dataclass
class Event:
    id: str
    event: str
    data: dict[str, Any]


async def sse_events(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[Event]:
    """Parse an SSE response into events (comments and pings skipped)."""
    async with http.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, await response.aread()
        async for event in parse_sse(response):
            yield event


async def turn_written(http: httpx.AsyncClient, session: dict[str, Any]) -> str:
    """Wait on the session's stream for its first turn to be written; returns its text."""
    events = sse_events(http, session["events_url"])
    try:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            _, content = await next_turn(events)
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    return content


async def parse_sse(response: httpx.Response) -> AsyncIterator[Event]:
    """The events of an open SSE response, until it ends."""
    assert response.headers["content-type"].startswith("text/event-stream")
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "event" in fields:
                yield Event(fields.get("id", ""), fields["event"], json.loads(fields["data"]))
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


async def ws_events(url: str) -> AsyncIterator[Event]:
    async with websockets.connect(url) as ws:
        async for event in ws_frames(ws):
            yield event


async def ws_frames(ws: websockets.ClientConnection, refused: bool = False) -> AsyncIterator[Event]:
    """The events of an open WebSocket, until the server closes it; `refused`: an error frame
    (a message the server would not take) fails the test rather than being skipped."""
    async for raw in ws:
        frame = json.loads(raw)
        if "event" in frame:
            yield Event(frame["id"], frame["event"], frame["data"])
        elif refused and frame.get("type") == "error":
            raise AssertionError(f"the server refused a frame: {frame}")


class Respondent:
    """A respondent talking through the public API."""

    def __init__(self, http: httpx.AsyncClient, session: dict[str, Any]) -> None:
        self.http = http
        self.session = session
        self.id: str = session["session_id"]
        self.auth = {"authorization": f"Bearer {session['session_token']}"}

    async def say(self, content: str, client_message_id: str | None = None) -> httpx.Response:
        return await self.http.post(
            f"/v1/sessions/{self.id}/messages",
            json={"content": content, "client_message_id": client_message_id or uuid.uuid4().hex},
            headers=self.auth,
        )


async def start_session(http: httpx.AsyncClient, share_token: str, **body: Any) -> Respondent:
    response = await http.post(f"/v1/public/interviews/{share_token}/sessions", json=body)
    assert response.status_code == 201, response.text
    return Respondent(http, response.json())


async def next_turn(events: AsyncIterator[Event]) -> tuple[list[Event], str]:
    """Read until a turn.completed; returns the events seen and the completed content."""
    seen: list[Event] = []
    async for event in events:
        seen.append(event)
        if event.event == "turn.completed":
            return seen, event.data["content"]
    raise AssertionError(f"stream ended before turn.completed: {[e.event for e in seen]}")


TURN_TIMEOUT_S = 20.0


@dataclass
class SeenTurn:
    """One interviewer turn as a respondent's client saw it."""

    content: str  # what turn.completed says the turn is
    streamed: str  # its turn.delta texts, joined (from the last restart)
    item_id: str | None


class Talk:
    """A respondent's side of a live session over one transport: read turns, answer."""

    def __init__(
        self, events: AsyncIterator[Event], send: Callable[[str], Awaitable[None]]
    ) -> None:
        self.events = events
        self._send = send

    async def turn(self) -> SeenTurn:
        # Bounded: an engine that never finishes its turn fails the test instead of hanging.
        async with asyncio.timeout(TURN_TIMEOUT_S):
            seen, content = await next_turn(self.events)
        streamed = ""
        for event in seen:
            if event.event == "turn.started" and event.data.get("restart"):
                streamed = ""
            elif event.event == "turn.delta":
                streamed += event.data["text"]
        return SeenTurn(content, streamed, seen[-1].data.get("item_id"))

    async def say(self, content: str) -> None:
        await self._send(content)


Transport = Literal["sse", "ws"]
TRANSPORTS: tuple[Transport, ...] = ("sse", "ws")


@contextlib.asynccontextmanager
async def talking(transport: Transport, respondent: Respondent) -> AsyncIterator[Talk]:
    """The respondent's conversation over SSE (answers posted) or one WebSocket (answers as
    `message` frames)."""
    if transport == "sse":

        async def post(content: str) -> None:
            said = await respondent.say(content)
            assert said.status_code == 202, said.text

        events = sse_events(respondent.http, respondent.session["events_url"])
        try:
            yield Talk(events, post)
        finally:
            await events.aclose()
        return
    async with websockets.connect(respondent.session["ws_url"]) as ws:

        async def send(content: str) -> None:
            frame = {"type": "message", "content": content, "client_message_id": uuid.uuid4().hex}
            await ws.send(json.dumps(frame))

        frames = ws_frames(ws, refused=True)
        try:
            yield Talk(frames, send)
        finally:
            await frames.aclose()


async def first_event(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> Event:
    stream = sse_events(http, url, headers)
    try:
        return await anext(stream)
    finally:
        await stream.aclose()


AUDIO_ENCODERS = {
    "wav": ["-f", "wav"],
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    # What a browser's MediaRecorder produces: Opus in WebM, no duration in the header.
    "webm": ["-c:a", "libopus", "-f", "webm", "-live", "1"],
}


async def audio_bytes(fmt: str, seconds: float = 1.0) -> bytes:
    """A real recording (a tone) in the given format, made by ffmpeg."""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
        "-i", f"sine=frequency=440:duration={seconds}", *AUDIO_ENCODERS[fmt], "pipe:1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0 and out
    return out


async def converse(
    http: httpx.AsyncClient, share_token: str, answers: list[str], **respondent: Any
) -> Respondent:
    """A respondent who answers the first questions and then ends the session."""
    who = await start_session(http, share_token, **respondent)
    events = sse_events(http, who.session["events_url"])
    try:
        await next_turn(events)
        for answer in answers:
            said = await who.say(answer)
            assert said.status_code == 202, said.text
            await next_turn(events)
    finally:
        await events.aclose()
    ended = await http.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert ended.status_code == 200, ended.text
    return who


async def emit_alone(
    db: Database, workspace_id: str, event_type: str, data: Mapping[str, Any]
) -> int:
    """A webhook event queued in a transaction of its own (runtime emits inside the one that
    makes the event true)."""
    async with db.begin() as conn:
        return await outbox.emit(conn, workspace_id, event_type, data)
