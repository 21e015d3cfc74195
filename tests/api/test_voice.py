"""Voice over the session WebSocket and as recorded utterances, through the running API."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import websockets

from runtime.voice import decoding
from runtime.voice.openai_speech import Endpoint, OpenAISpeechToText
from runtime.voice.types import Pcm
from tests.api.test_openapi import Contract
from tests.conftest import Server
from tests.helpers import published_interview, start_session, turn_written
from tests.runtime.voice.speech import frames, noise, silence, spoken
from tests.upstream.server import Upstream

ANSWER = "yes I would like to answer the question"
WAIT_S = 30.0


def answer() -> bytes:
    return spoken(ANSWER, "en-us")


class Socket:
    """A respondent's WebSocket: JSON frames and binary audio, kept in arrival order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any] | bytes] = []
        self.sent: list[dict[str, Any]] = []

    async def until(self, test: Any) -> dict[str, Any]:
        """The first frame, seen already or still to come, that passes `test`."""
        for item in self.seen:
            if isinstance(item, dict) and test(item):
                return item
        return await self.next(test)

    async def next(self, test: Any) -> dict[str, Any]:
        """The first frame still to come that passes `test`."""
        async with asyncio.timeout(WAIT_S):
            while True:
                raw = await self.ws.recv()
                item = raw if isinstance(raw, bytes) else json.loads(raw)
                self.seen.append(item)
                if isinstance(item, dict) and test(item):
                    return item

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await self.ws.send(json.dumps(message))

    async def speak(self, pcm: bytes) -> None:
        """Frames at the microphone's pace (the server refuses them faster than real time)."""
        began = time.monotonic()
        for index, frame in enumerate(frames(pcm)):
            ahead = index * 0.02 - (time.monotonic() - began)
            if ahead > 1.0:
                await asyncio.sleep(ahead - 1.0)
            await self.ws.send(frame)


def kind(name: str) -> Any:
    return lambda m: m.get("type") == name or m.get("event") == name


async def test_a_voice_turn_over_the_websocket(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client, modes=["text", "voice"])
    respondent = await start_session(anon, interview["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        s = Socket(ws)
        await s.send({"type": "voice.start", "input": {"sample_rate": 16000}})
        ready = await s.until(kind("voice.ready"))
        assert ready["output"] == {
            "sample_rate": server.settings.tts_sample_rate,
            "encoding": "pcm_s16le",
            "channels": 1,
        }
        assert ready["limits"]["frame_bytes"] == 640 and ready["eagerness"] == "normal"
        started = await s.until(kind("audio.started"))
        ended = await s.until(kind("audio.ended"))
        audio = b"".join(m for m in s.seen[s.seen.index(started) :] if isinstance(m, bytes))
        assert len(audio) // 2 * 1000 // ready["output"]["sample_rate"] == ended["duration_ms"]
        await s.send({"type": "playback", "turn_id": "t1", "played_ms": 100})
        await s.send(
            {"type": "playback", "turn_id": "t1", "played_ms": ended["duration_ms"], "ended": True}
        )
        await s.speak(silence(200) + answer() + silence(1500))
        final = await s.until(kind("transcript.final"))
        message = await s.until(kind("respondent.message"))
        assert message["data"]["message_id"] == final["message_id"]
        await s.until(lambda m: m.get("type") == "audio.started" and m["turn_id"] == "t2")
    # Every frame either way is one the document describes.
    c = Contract((await anon.get("/v1/openapi.json")).json())
    for frame in [m for m in s.seen if isinstance(m, dict)]:
        assert not c.problems("/components/schemas/WsServerFrame", frame), frame
    for frame in s.sent:
        assert not c.problems("/components/schemas/WsClientFrame", frame), frame
    assert {m.get("type") for m in s.seen if isinstance(m, dict)} >= {
        "voice.ready",
        "voice.state",
        "speech.started",
        "speech.stopped",
        "transcript.partial",
        "transcript.final",
        "audio.started",
        "audio.ended",
    }
    listed = await client.get(f"/v1/sessions/{respondent.id}/transcript")
    stored = next(m for m in listed.json()["messages"] if m["id"] == final["message_id"])
    assert stored["modality"] == "voice" and stored["content"] == final["text"]
    assert stored["audio"]["duration_ms"] > 2000


async def test_voice_is_refused_where_it_cannot_run_and_the_socket_stays_open(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    text_only = await published_interview(client)
    respondent = await start_session(anon, text_only["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        s = Socket(ws)
        await ws.send(bytes(640))
        early = await s.next(kind("error"))
        assert early["error"]["field"] == "frame"
        await s.send({"type": "voice.start"})
        refused = await s.next(kind("error"))
        assert refused["error"]["code"] == "mode_not_enabled"
        await s.send({"type": "playback", "turn_id": "t1", "played_ms": 1})
        assert (await s.next(kind("error")))["error"]["field"] == "type"
    voice = await published_interview(client, modes=["voice"])
    respondent = await start_session(anon, voice["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        s = Socket(ws)
        await s.send({"type": "voice.start", "input": {"sample_rate": 48000}})
        wrong = await s.next(kind("error"))
        assert wrong["error"]["field"] == "input.sample_rate"
        await s.send({"type": "voice.start"})
        await s.until(kind("voice.ready"))
        await ws.send(bytes(6400))  # 200 ms in one frame
        large = await s.next(kind("error"))
        assert large["error"]["code"] == "validation_error" and large["error"]["field"] == "frame"
        await s.send({"type": "voice.start"})
        assert "already" in (await s.next(kind("error")))["error"]["message"]
        await s.send({"type": "ping"})
        await s.until(kind("pong"))
        await s.send({"type": "voice.stop"})
        await s.until(kind("voice.stopped"))


async def test_a_researcher_watching_cannot_start_voice(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    interview = await published_interview(client, modes=["voice"])
    respondent = await start_session(anon, interview["share_token"])
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws"
    async with websockets.connect(
        url, additional_headers={"authorization": f"Bearer {api_key}"}
    ) as ws:
        s = Socket(ws)
        await s.send({"type": "voice.start"})
        assert (await s.next(kind("error")))["error"]["code"] == "unauthorized"


def wav(pcm: bytes) -> bytes:
    return decoding.wav(Pcm(pcm, 16000))


async def test_a_recorded_utterance_becomes_a_voice_message(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client, modes=["text", "voice"])
    respondent = await start_session(anon, interview["share_token"])
    url = f"/v1/sessions/{respondent.id}/utterances"
    headers = {**respondent.auth, "content-type": "audio/wav"}
    body = wav(silence(200) + answer() + silence(300))
    await turn_written(anon, respondent.session)
    posted = await anon.post(url, content=body, headers=headers, params={"client_message_id": "u1"})
    assert posted.status_code == 201, posted.text
    reply = posted.json()
    assert len(set(reply["text"].split()) & set(ANSWER.split())) >= 5
    again = await anon.post(url, content=body, headers=headers, params={"client_message_id": "u1"})
    assert again.status_code == 201 and again.json()["duplicate"] is True
    assert again.json()["message_id"] == reply["message_id"]
    listed = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()["messages"]
    voiced = [m for m in listed if m["modality"] == "voice" and m["role"] == "respondent"]
    assert [m["id"] for m in voiced] == [reply["message_id"]]


async def test_bad_utterances_get_documented_errors_and_store_nothing(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, upstream: Upstream
) -> None:
    text_only = await published_interview(client)
    other = await start_session(anon, text_only["share_token"])
    refused = await anon.post(
        f"/v1/sessions/{other.id}/utterances",
        content=wav(answer()),
        headers={**other.auth, "content-type": "audio/wav"},
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "mode_not_enabled"
    interview = await published_interview(client, modes=["voice"])
    respondent = await start_session(anon, interview["share_token"])
    url = f"/v1/sessions/{respondent.id}/utterances"

    async def post(body: bytes, content_type: str = "audio/wav") -> httpx.Response:
        return await anon.post(
            url, content=body, headers={**respondent.auth, "content-type": content_type}
        )

    cases = [
        (await post(b"definitely not audio"), 400, "not_audio"),
        (await post(b""), 400, "not_audio"),
        (await post(wav(answer()), "text/plain"), 400, "validation_error"),
        (await post(wav(silence(61_000))), 413, "payload_too_large"),
        (await post(wav(noise(1000, 30) + silence(500))), 400, "no_speech"),
        (
            await post(bytes(server.settings.max_utterance_bytes + 1), "audio/ogg"),
            413,
            "payload_too_large",
        ),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            response.text
        )
    services = server.app.state.services
    live_stt = services.stt
    services.stt = OpenAISpeechToText(Endpoint(upstream.base_url, "k", "mock:500"), 5.0)
    try:
        failed = await post(wav(answer()))
    finally:
        await services.stt.close()
        services.stt = live_stt
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "speech_failed"
    listed = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()["messages"]
    assert [m["role"] for m in listed] == ["interviewer"]  # nothing was stored
    prefix = f"voice/{respondent.id}/"
    assert await services.blobs.delete_prefix(prefix) == 0
    typed = await respondent.say("I'll type instead", uuid.uuid4().hex)
    assert typed.status_code == 202
