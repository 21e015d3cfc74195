"""The flow from the issue, end to end over SSE and over WebSocket, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Server
from tests.helpers import (
    Event,
    next_turn,
    published_interview,
    sse_events,
    start_session,
)


async def test_full_interview_over_sse(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    assert interview["status"] == "active"
    respondent = await start_session(anon, interview["share_token"], name="Ada", email="a@x.io")
    events = sse_events(anon, respondent.session["events_url"])

    seen, opening = await next_turn(events)
    assert [e.event for e in seen[:2]] == ["session.started", "turn.started"]
    assert seen[1].data == {"turn_id": "t1", "item_id": "Q1", "restart": False}
    deltas = [e for e in seen if e.event == "turn.delta"]
    assert len(deltas) > 1, "text must stream in pieces"
    assert "".join(e.data["text"] for e in deltas) == opening
    assert opening.startswith("Hi, thanks for joining!") and "What do you use" in opening

    assert (await respondent.say("stuff")).status_code == 202  # thin: probed
    _, probe = await next_turn(events)
    assert probe == "Can you give me a recent example?"
    await respondent.say("I used it yesterday to plan our team's sprint review in detail.")
    _, plan_q = await next_turn(events)
    assert "Which plan are you on?" in plan_q and "1. Free" in plan_q
    await respondent.say("the gold one")  # not an option: re-asked
    _, reask = await next_turn(events)
    assert "choose one of" in reask
    await respondent.say("2")
    _, rating_q = await next_turn(events)
    assert "recommend" in rating_q
    await respondent.say("11")  # out of scale: re-asked
    _, reask_rating = await next_turn(events)
    assert "from 1 to 5" in reask_rating
    await respondent.say("4")
    seen, closing = await next_turn(events)
    assert closing == "That's all, thank you!"
    rest = [e async for e in events]
    assert [e.event for e in rest] == ["coverage.updated", "session.completed"]
    assert (rest[0].data["answered"], rest[0].data["required_open"]) == (3, 0)

    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    assert transcript["session_id"] == respondent.id
    assert transcript["status"] == "completed"
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["interviewer", "respondent"] * 6 + ["interviewer"]
    assert transcript["messages"][0]["content"] == opening
    assert transcript["messages"][0]["item_id"] == "Q1"
    assert transcript["messages"][5]["item_id"] == "Q2"  # "the gold one" answers Q2
    assert all(m["created_at"].endswith("Z") for m in transcript["messages"])

    counts = (await client.get(f"/v1/interviews/{interview['id']}")).json()["session_counts"]
    assert counts == {"total": 1, "completed": 1, "in_progress": 0, "abandoned": 0}


async def test_full_interview_over_websocket(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    import json

    import websockets

    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:

        async def turn() -> str:
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("event") == "turn.completed":
                    return str(frame["data"]["content"])

        assert "What do you use" in await turn()
        answers = ["I plan every sprint with it and share boards with clients.", "Pro", "5"]
        for answer in answers:
            await ws.send(
                json.dumps(
                    {"type": "message", "content": answer, "client_message_id": uuid.uuid4().hex}
                )
            )
            last = await turn()
        assert last == "That's all, thank you!"
        frames = [json.loads(f) async for f in ws]
        told = [f["event"] for f in frames if "event" in f]
        assert told == ["coverage.updated", "session.completed"]
    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    assert [m["content"] for m in transcript["messages"] if m["role"] == "respondent"] == answers


async def test_reconnect_mid_turn_resumes_exactly_once(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    url = respondent.session["events_url"]
    first: list[Event] = []
    async for event in sse_events(anon, url):
        first.append(event)
        if event.event == "turn.delta":
            break  # drop the connection in the middle of the opening turn
    resumed, content = await next_turn(
        sse_events(anon, url, headers={"last-event-id": first[-1].id})
    )
    ids = [e.id for e in first + resumed]
    keys = [_id_key(i) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "in order, no event twice"
    text = "".join(e.data["text"] for e in first + resumed if e.event == "turn.delta")
    assert text == content, "the rest of the turn exactly once, with no gap"


def _id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)


async def test_retried_message_makes_one_turn(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    events = sse_events(anon, respondent.session["events_url"])
    await next_turn(events)
    first = await respondent.say("We use it for planning our whole roadmap.", "cm-1")
    again = await respondent.say("We use it for planning our whole roadmap.", "cm-1")
    assert first.status_code == again.status_code == 202
    assert first.json()["message_id"] == again.json()["message_id"]
    assert again.json()["duplicate"] is True
    await next_turn(events)
    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    assert [m["role"] for m in transcript["messages"]] == [
        "interviewer",
        "respondent",
        "interviewer",
    ]
