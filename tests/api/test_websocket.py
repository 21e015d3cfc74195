"""The WebSocket transport: resume frames, posting, errors and who may do what."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import Server
from tests.helpers import Respondent, published_interview, start_session


async def _until(ws: Any, event: str) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = json.loads(await ws.recv())
        frames.append(frame)
        if frame.get("event") == event:
            return frames


async def test_resume_frame_replays_after_the_given_id(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        # A turn's last event is its coverage.updated, and a resume replays it too.
        frames = await _until(ws, "coverage.updated")
        started = next(f for f in frames if f["event"] == "turn.started")
        await ws.send(json.dumps({"type": "resume", "last_event_id": started["id"]}))
        replay = await _until(ws, "coverage.updated")
        after_started = frames[frames.index(started) + 1 :]
        assert [f["id"] for f in replay] == [f["id"] for f in after_started]
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        await _until(ws, "coverage.updated")  # the turn's last event
        for raw, code, field in [
            ("not json", "validation_error", None),
            (json.dumps({"type": "dance"}), "validation_error", "type"),
            (
                json.dumps({"type": "message", "content": "", "client_message_id": "x"}),
                "validation_error",
                "content",
            ),
            (
                json.dumps({"type": "resume", "last_event_id": "zzz"}),
                "validation_error",
                "last_event_id",
            ),
        ]:
            await ws.send(raw)
            reply = json.loads(await ws.recv())
            assert reply["type"] == "error" and reply["error"]["code"] == code, raw
            assert reply["error"].get("field") == field
        message = {
            "type": "message",
            "content": "We use it for research.",
            "client_message_id": "c1",
        }
        await ws.send(json.dumps(message))
        frames = await _until(ws, "coverage.updated")
        acks = [f for f in frames if f.get("type") == "ack"]
        assert acks and acks[0]["client_message_id"] == "c1" and acks[0]["duplicate"] is False
        await ws.send(json.dumps(message))
        duplicate = json.loads(await ws.recv())
        assert duplicate["type"] == "ack" and duplicate["duplicate"] is True


async def test_researchers_watch_but_cannot_speak(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws"
    headers = {"authorization": f"Bearer {api_key}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        await _until(ws, "coverage.updated")  # the turn's last event
        await ws.send(json.dumps({"type": "message", "content": "hi", "client_message_id": "r"}))
        reply = json.loads(await ws.recv())
        assert reply["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("query", "code", "reason"),
    [
        ("", 4401, "required"),
        ("?ticket=123.forged", 4401, "not valid"),
        ("?last_event_id=x", 4401, ""),
    ],
)
async def test_unauthenticated_sockets_are_closed_with_a_reason(
    server: Server,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    query: str,
    code: int,
    reason: str,
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws{query}"
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code and reason in closed.value.rcvd.reason


async def test_unknown_session_and_bad_resume_point(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    bad_id = respondent.session["ws_url"] + "&last_event_id=nope"
    async with websockets.connect(bad_id) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def _watched_by_a_reader(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> tuple[Respondent, dict[str, str]]:
    """A respondent's session, and the headers of a key of its workspace that may only read."""
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    made = await client.post("/v1/api-keys", json={"name": "reader", "scopes": ["sessions:read"]})
    assert made.status_code == 201, made.text
    return respondent, {"authorization": f"Bearer {made.json()['key']}"}


async def _nothing_said(client: httpx.AsyncClient, session_id: str) -> None:
    transcript = (await client.get(f"/v1/sessions/{session_id}/transcript")).json()
    assert transcript["status"] == "in_progress"
    assert [m for m in transcript["messages"] if m["role"] != "interviewer"] == []


@pytest.mark.parametrize("query", ["?ticket=", "?ticket"])
async def test_an_empty_ticket_is_refused_even_beside_a_read_only_key(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, query: str
) -> None:
    # The permission to post comes from the credential that was checked: a present but empty
    # ticket is an invalid ticket, never a way to fall through to the key and post as the
    # respondent.
    respondent, reader = await _watched_by_a_reader(client, anon)
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws{query}"
    async with websockets.connect(url, additional_headers=reader) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            forged = {"type": "message", "content": "Forged answer", "client_message_id": "f1"}
            await ws.send(json.dumps(forged))
            await ws.send(json.dumps({"type": "end"}))
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401 and "ticket" in closed.value.rcvd.reason
    async with anon.stream(
        "GET", f"/v1/sessions/{respondent.id}/events{query}", headers=reader
    ) as sse:
        assert sse.status_code == 401
    await _nothing_said(client, respondent.id)


async def test_a_read_only_key_watches_but_cannot_post_or_end(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    respondent, reader = await _watched_by_a_reader(client, anon)
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws"
    async with websockets.connect(url, additional_headers=reader) as ws:
        await _until(ws, "coverage.updated")  # the turn's last event
        for frame in (
            {"type": "message", "content": "Forged answer", "client_message_id": "f2"},
            {"type": "end"},
        ):
            await ws.send(json.dumps(frame))
            reply = json.loads(await ws.recv())
            assert reply["type"] == "error" and reply["error"]["code"] == "unauthorized"
    await _nothing_said(client, respondent.id)
