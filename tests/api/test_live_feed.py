"""GET /v1/interviews/{id}/live: every session of an interview, live, for its researchers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from jsonschema import Draft202012Validator

from runtime.live.events import NoteAdded
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import Event, parse_sse, published_interview, sse_events, start_session
from tests.processes import serve_nodes

SESSION_FLOW = ["session.started", "turn.started", "turn.completed", "coverage.updated"]


async def _until(
    feed: AsyncIterator[Event], event: str, session_id: str | None = None
) -> list[Event]:
    """The events up to and including `session_id`'s next `event` (on a session's own
    stream, whose events do not name it: the next `event`)."""
    seen: list[Event] = []
    async with asyncio.timeout(30):
        while True:
            seen.append(await anext(feed))
            if (
                seen[-1].event == event
                and seen[-1].data.get("session_id", session_id) == session_id
            ):
                return seen


async def _take(feed: AsyncIterator[Event], count: int) -> list[Event]:
    async with asyncio.timeout(30):
        return [await anext(feed) for _ in range(count)]


def _frame(event: Event) -> dict[str, str]:
    """A frame as an SSE client parses it: its data is the JSON text."""
    return {"id": event.id, "event": event.event, "data": json.dumps(event.data)}


def _flow(events: list[Event]) -> list[str]:
    """The event types, deltas left out (how many a turn has is the engine's business)."""
    return [e.event for e in events if e.event != "turn.delta"]


async def test_a_researcher_watches_a_session_from_start_to_end_and_resumes(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    url = f"/v1/interviews/{interview['id']}/live"
    feed = sse_events(client, url)
    try:
        respondent = await start_session(anon, interview["share_token"])
        seen = await _until(feed, "coverage.updated", respondent.id)
        assert (await respondent.say("We plan our sprints with it.")).status_code == 202
        seen += await _until(feed, "coverage.updated", respondent.id)
        ended = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
        assert ended.status_code == 200, ended.text
        seen += await _until(feed, "session.completed", respondent.id)
    finally:
        await feed.aclose()  # type: ignore[attr-defined]
    assert _flow(seen) == [
        *SESSION_FLOW,
        "respondent.message",
        *SESSION_FLOW[1:],
        "session.completed",
    ]
    assert {e.data["session_id"] for e in seen} == {respondent.id}
    assert seen[0].data["interview_id"] == interview["id"]
    said = next(e for e in seen if e.event == "respondent.message")
    assert said.data["content"] == "We plan our sprints with it."
    deltas = "".join(e.data["text"] for e in seen if e.event == "turn.delta")
    turns = "".join(e.data["content"] for e in seen if e.event == "turn.completed")
    assert deltas == turns and turns, "every turn as it streamed"
    ids = [tuple(map(int, e.id.split("-"))) for e in seen]
    assert ids == sorted(set(ids)), "one feed id each, in order"
    # Each frame is what the document says a frame is (schemathesis, which cannot wait out
    # a stream that never ends, leaves the feed to this check).
    document = (await client.get("/v1/openapi.json")).json()
    reply = document["paths"]["/v1/interviews/{id}/live"]["get"]["responses"]["200"]
    frame = Draft202012Validator(reply["content"]["text/event-stream"]["schema"])
    for e in seen:
        errors = [m.message for m in frame.iter_errors(_frame(e))]
        assert errors == [], (e, errors)
    assert list(frame.iter_errors({"event": "turn.delta"})), "the check can fail"

    # Resumed after any entry (header, or query for clients that cannot set one): the rest.
    middle = seen[len(seen) // 2]
    for headers, query in (({"last-event-id": middle.id}, ""), ({}, f"?last_event_id={middle.id}")):
        resumed = sse_events(client, url + query, headers)
        try:
            rest = await _take(resumed, len(seen) - len(seen) // 2 - 1)
        finally:
            await resumed.aclose()  # type: ignore[attr-defined]
        assert [e.id for e in rest] == [e.id for e in seen[len(seen) // 2 + 1 :]]


async def test_the_websocket_carries_the_same_feed_and_resumes(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = f"{server.url.replace('http', 'ws', 1)}/v1/interviews/{interview['id']}/live/ws"
    auth = {"authorization": f"Bearer {api_key}"}
    async with websockets.connect(url, additional_headers=auth) as ws:
        frames = _ws_events(ws)
        seen = await _until(frames, "coverage.updated", respondent.id)
        assert _flow(seen) == SESSION_FLOW
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
        await ws.send(json.dumps({"type": "resume", "last_event_id": seen[0].id}))
        again = await _take(frames, len(seen) - 1)
        assert [e.id for e in again] == [e.id for e in seen[1:]]
        await ws.send(json.dumps({"type": "speak"}))
        refused = json.loads(await ws.recv())
        assert refused["type"] == "error" and refused["error"]["field"] == "type"
    sse = sse_events(client, f"/v1/interviews/{interview['id']}/live")
    try:
        over_sse = await _take(sse, len(seen))
    finally:
        await sse.aclose()  # type: ignore[attr-defined]
    assert [(e.id, e.event, e.data) for e in over_sse] == [(e.id, e.event, e.data) for e in seen]


async def _ws_events(ws: Any) -> AsyncIterator[Event]:
    while True:
        frame = json.loads(await ws.recv())
        if "event" in frame:
            yield Event(frame.get("id", ""), frame["event"], frame["data"])


async def test_a_resume_from_before_what_the_feed_holds_starts_with_a_reset(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = f"/v1/interviews/{interview['id']}/live"
    feed = sse_events(client, url)
    try:
        first = (await _take(feed, 1))[0]
    finally:
        await feed.aclose()  # type: ignore[attr-defined]
    assert first.data["session_id"] == respondent.id
    resumed = sse_events(client, url, {"last-event-id": "1-0"})  # older than anything held
    try:
        reset, after = await _take(resumed, 2)
    finally:
        await resumed.aclose()  # type: ignore[attr-defined]
    assert reset.event == "feed.reset" and reset.id == ""
    assert reset.data == {"last_event_id": "1-0", "oldest_event_id": first.id}
    assert after.id == first.id
    refused = await client.get(url, headers={"last-event-id": "yesterday"})
    assert refused.status_code == 400


async def test_only_researchers_of_the_interviews_workspace_may_watch(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = f"/v1/interviews/{interview['id']}/live"
    as_respondent = await anon.get(url, headers=respondent.auth)
    assert as_respondent.status_code == 401, "a session token is no researcher's key"
    assert (await anon.get(url)).status_code == 401
    stranger = {"authorization": f"Bearer {await new_key(db)}"}
    assert (await anon.get(url, headers=stranger)).status_code == 404
    assert (await client.get("/v1/interviews/int_nope/live")).status_code == 404
    writer = await new_key(db, scopes=("interviews:write",))
    denied = await anon.get(url, headers={"authorization": f"Bearer {writer}"})
    assert denied.status_code == 403 and "sessions:read" in denied.json()["error"]["message"]

    ws_url = f"{server.url.replace('http', 'ws', 1)}{url}/ws"
    refusals = (
        (respondent.auth, 4401),
        (stranger, 4404),
        ({"authorization": f"Bearer {writer}"}, 4403),
    )
    for headers, code in refusals:
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_revoking_the_key_closes_its_feeds(server: Server, client: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    made = await client.post("/v1/api-keys", json={"name": "watcher", "scopes": ["sessions:read"]})
    assert made.status_code == 201, made.text
    auth = {"authorization": f"Bearer {made.json()['key']}"}
    url = f"/v1/interviews/{interview['id']}/live"
    ws_url = f"{server.url.replace('http', 'ws', 1)}{url}/ws"
    async with (
        client.stream("GET", url, headers=auth) as response,
        websockets.connect(ws_url, additional_headers=auth) as ws,
    ):
        assert response.status_code == 200
        revoked = await client.delete(f"/v1/api-keys/{made.json()['id']}")
        assert revoked.status_code == 204
        async with asyncio.timeout(30):
            ended = [e async for e in parse_sse(response)]
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert [e.event for e in ended] == ["error"] and ended[0].data["code"] == "unauthorized"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_researcher_on_one_node_watches_a_session_served_by_another(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    key = {"authorization": f"Bearer {await new_key(db)}"}
    async with serve_nodes(node_env, tmp_path) as (a, b):
        async with (
            httpx.AsyncClient(base_url=a.url, headers=key, timeout=20) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=20) as on_b,
        ):
            interview = await published_interview(on_a)
            feed = sse_events(on_a, f"/v1/interviews/{interview['id']}/live")
            try:
                # Sessions and their turns all on node B; node A only watches.
                first = await start_session(on_b, interview["share_token"])
                second = await start_session(on_b, interview["share_token"])
                seen = await _until(feed, "coverage.updated", first.id)
                assert (await first.say("Mostly for planning.")).status_code == 202
                seen += await _until(feed, "respondent.message", first.id)
                if not any(e.data["session_id"] == second.id for e in seen):
                    seen += await _until(feed, "session.started", second.id)
            finally:
                await feed.aclose()  # type: ignore[attr-defined]
    mine = [e for e in seen if e.data["session_id"] == first.id]
    assert _flow(mine)[: len(SESSION_FLOW) + 1] == [*SESSION_FLOW, "respondent.message"]
    assert any(e.event == "session.started" for e in seen if e.data["session_id"] == second.id)


async def test_the_researchers_events_reach_the_feed_and_never_the_respondent(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    feed = sse_events(client, f"/v1/interviews/{interview['id']}/live")
    own = sse_events(anon, respondent.session["events_url"])
    try:
        await _until(feed, "coverage.updated", respondent.id)
        assert (await _until(own, "coverage.updated"))[-1].event == "coverage.updated"
        note = NoteAdded("note_1", "bookmark", None, "a researcher's aside")
        await server.app.state.services.events.append(respondent.id, note)
        assert (await respondent.say("Mostly planning.")).status_code == 202
        fed = await _until(feed, "respondent.message", respondent.id)
        heard = await _until(own, "respondent.message")
    finally:
        await feed.aclose()  # type: ignore[attr-defined]
        await own.aclose()  # type: ignore[attr-defined]
    assert [e.event for e in fed] == ["note.added", "respondent.message"]
    assert fed[0].data == {**note.data(), "session_id": respondent.id}
    assert [e.event for e in heard] == ["respondent.message"], "the respondent never sees it"


async def test_a_console_ticket_opens_the_feed_as_its_key_does(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    made = await client.post("/v1/api-keys", json={"name": "console", "scopes": ["sessions:read"]})
    assert made.status_code == 201, made.text
    key = {"authorization": f"Bearer {made.json()['key']}"}
    issued = await anon.post("/v1/console/tickets", headers=key)
    assert issued.status_code == 201, issued.text
    ticket = {"authorization": f"Bearer {issued.json()['ticket']}"}
    url = f"/v1/interviews/{interview['id']}/live"
    async with anon.stream("GET", url, headers=ticket) as response:
        assert response.status_code == 200
        respondent = await start_session(anon, interview["share_token"])
        events = parse_sse(response)
        first = await _take(events, 1)
        assert first[0].event == "session.started" and first[0].data["session_id"] == respondent.id
        revoked = await client.delete(f"/v1/api-keys/{made.json()['id']}")
        assert revoked.status_code == 204
        async with asyncio.timeout(30):
            rest = [e.event async for e in events]
    assert rest[-1] == "error", "revoking the key closes the feed its ticket opened"
