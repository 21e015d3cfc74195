"""Respondent sessions: resume, end early, message rules, and the researcher's view of them."""

from __future__ import annotations

import httpx

from tests.helpers import next_turn, published_interview, sse_events, start_session


async def test_resume_with_session_token(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"], external_id="crm-7")
    events = sse_events(anon, respondent.session["events_url"])
    await next_turn(events)
    await respondent.say("I track all of our customer research in it.")
    await next_turn(events)
    await events.aclose()
    resumed = await anon.post(
        f"/v1/public/interviews/{interview['share_token']}/sessions",
        json={"session_token": respondent.session["session_token"]},
    )
    assert resumed.status_code == 200
    body = resumed.json()
    assert body["session_id"] == respondent.id and body["status"] == "in_progress"
    assert [m["role"] for m in body["messages"]] == ["interviewer", "respondent", "interviewer"]
    replay = [e.event async for e in _until_quiet(sse_events(anon, body["events_url"]), 2)]
    assert replay.count("turn.completed") == 2
    wrong = await anon.post(
        f"/v1/public/interviews/{interview['share_token']}/sessions",
        json={"session_token": "st_forged"},
    )
    assert wrong.status_code == 401
    view = (await client.get(f"/v1/sessions/{respondent.id}")).json()
    assert view["respondent"]["external_id"] == "crm-7"
    assert view["current_item_id"] == "Q2"
    assert view["live"]["turn_in_progress"] is False
    assert view["live"]["last_event"] == "coverage.updated"  # right after turn.completed


async def _until_quiet(events, completed: int):  # type: ignore[no-untyped-def]
    seen = 0
    async for event in events:
        yield event
        seen += event.event == "turn.completed"
        if seen == completed:
            await events.aclose()
            return


async def test_end_early(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    events = sse_events(anon, respondent.session["events_url"])
    await next_turn(events)
    ended = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
    assert ended.json() == {"session_id": respondent.id, "status": "completed"}
    last = [e async for e in events]
    assert [e.event for e in last] == ["coverage.updated", "session.completed"]
    assert last[-1].data == {"reason": "ended_by_respondent"}
    late = await respondent.say("one more thing")
    assert late.status_code == 409 and "completed" in late.json()["error"]["message"]
    again = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
    assert again.status_code == 200, "ending twice is harmless"
    session = (await client.get(f"/v1/sessions/{respondent.id}")).json()
    assert session["ended_reason"] == "ended_by_respondent"


async def test_message_rules(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    one = await start_session(anon, interview["share_token"])
    two = await start_session(anon, interview["share_token"])
    await next_turn(sse_events(anon, one.session["events_url"]))
    blank = await one.say("   ")
    assert blank.status_code == 400 and blank.json()["error"]["field"] == "content"
    huge = await one.say("x" * 9000)
    assert huge.status_code == 400 and "8000" in huge.json()["error"]["message"]
    no_id = await anon.post(
        f"/v1/sessions/{one.id}/messages", json={"content": "hi"}, headers=one.auth
    )
    assert no_id.json()["error"]["field"] == "client_message_id"
    cross = await anon.post(
        f"/v1/sessions/{one.id}/messages",
        json={"content": "hi", "client_message_id": "a"},
        headers=two.auth,
    )
    assert cross.status_code == 401, "a session token is good for its own session only"
    no_token = await anon.post(
        f"/v1/sessions/{one.id}/messages", json={"content": "hi", "client_message_id": "a"}
    )
    assert no_token.status_code == 401


async def test_session_list_filters(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    first = await start_session(anon, interview["share_token"])
    await next_turn(sse_events(anon, first.session["events_url"]))
    await anon.post(f"/v1/sessions/{first.id}/end", headers=first.auth)
    second = await start_session(anon, interview["share_token"])
    base = f"/v1/interviews/{interview['id']}/sessions"
    done = (await client.get(base, params={"status": "completed"})).json()["items"]
    assert [s["id"] for s in done] == [first.id]
    since = (await client.get(f"/v1/sessions/{second.id}")).json()["created_at"]
    recent = (await client.get(base, params={"since": since})).json()["items"]
    assert [s["id"] for s in recent] == [second.id]
    bad = await client.get(base, params={"status": "weird"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"
    bad_since = await client.get(base, params={"since": "yesterday"})
    assert bad_since.status_code == 400
