"""A researcher takes a session over, writes the interviewer's turns, and hands it back."""

from __future__ import annotations

import csv
import io
import json

import httpx

from tests.api.test_steering import RICH, as_resumed, llm_session, researcher_feed, until
from tests.helpers import next_turn, sse_events
from tests.upstream import Upstream

MINE = "Thanks! One of the research team here: what made you pick us over the others?"
AGAIN = "And who else on your team uses it?"


async def test_the_researcher_writes_turns_and_the_ai_continues_from_them(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, upstream: Upstream
) -> None:
    marker, respondent = await llm_session(client, anon)
    sid = respondent.id
    theirs = sse_events(anon, respondent.session["events_url"])
    ours = researcher_feed(client, sid)
    await next_turn(theirs)
    await until(ours, "turn.completed")

    early = await client.post(f"/v1/sessions/{sid}/interviewer-messages", json={"content": MINE})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_taken_over"
    taken = await client.post(f"/v1/sessions/{sid}/takeover")
    assert taken.status_code == 200, taken.text
    assert taken.json()["taken_over"] is True and taken.json()["turn_owed"] is False
    assert (await until(ours, "session.takeover"))[-1].data["taken_over_by"]
    shown = (await client.get(f"/v1/sessions/{sid}")).json()
    assert shown["taken_over_at"] == taken.json()["taken_over_at"]
    asked_before = len(upstream.requests_for(marker))

    # The respondent's answer owes the AI nothing: the researcher answers it.
    assert (await respondent.say(RICH)).status_code == 202
    said = await client.post(f"/v1/sessions/{sid}/interviewer-messages", json={"content": MINE})
    assert said.status_code == 201, said.text
    assert said.json()["author"] == "researcher" and said.json()["turn_id"] == "t2"
    seen, content = await next_turn(theirs)
    assert content == MINE
    assert [e.event for e in seen if e.event != "coverage.updated"] == [
        "respondent.message",
        "turn.started",
        "turn.delta",
        "turn.completed",
    ]
    # A second turn in a row, before the respondent says anything: a turn of its own.
    again = await client.post(f"/v1/sessions/{sid}/interviewer-messages", json={"content": AGAIN})
    assert again.json()["turn_id"] == "t3"
    assert (await next_turn(theirs))[1] == AGAIN
    assert (await respondent.say("Mostly the two product managers.")).status_code == 202
    assert len(upstream.requests_for(marker)) == asked_before, "the AI wrote nothing"

    # Handed back with the respondent's message unanswered: the AI answers it at once.
    back = await client.post(f"/v1/sessions/{sid}/handback")
    assert back.status_code == 200 and back.json() == {**back.json(), "taken_over": False}
    assert back.json()["turn_owed"] is True
    seen, ai_turn = await next_turn(theirs)
    assert seen[-1].data["turn_id"] == "t4"
    messages = upstream.requests_for(marker)[-1].messages
    assert {"role": "assistant", "content": MINE} in messages
    assert {"role": "assistant", "content": AGAIN} in messages
    kinds = [e.event for e in await until(ours, "session.handback")]
    assert "session.takeover" not in kinds
    assert not any(e.event.startswith("session.hand") for e in seen)
    again_back = await client.post(f"/v1/sessions/{sid}/handback")
    assert again_back.status_code == 409
    assert (await client.get(f"/v1/sessions/{sid}")).json()["taken_over_at"] is None

    transcript = (await client.get(f"/v1/sessions/{sid}/transcript")).json()
    turns = [m for m in transcript["messages"] if m["role"] == "interviewer"]
    assert [(m["turn_id"], m["author"]) for m in turns] == [
        ("t1", "ai"),
        ("t2", "researcher"),
        ("t3", "researcher"),
        ("t4", "ai"),
    ]
    assert turns[3]["content"] == ai_turn
    assert {m["author"] for m in transcript["messages"] if m["role"] == "respondent"} == {None}
    # The respondent's own view: every turn is the interviewer's.
    own = await as_resumed(anon, respondent)
    assert len(own["messages"]) == 6 and all("author" not in m for m in own["messages"])
    markdown = (await client.get(f"/v1/sessions/{sid}/transcript?format=md")).text
    assert markdown.count("· researcher") == 2
    await theirs.aclose()  # type: ignore[attr-defined]
    await ours.aclose()  # type: ignore[attr-defined]

    await anon.post(f"/v1/sessions/{sid}/end", headers=respondent.auth)
    interview_id = (await client.get(f"/v1/sessions/{sid}")).json()["interview_id"]
    url = f"/v1/interviews/{interview_id}/transcripts"
    exported = json.loads((await client.get(url)).content)
    [session] = [s for s in exported["sessions"] if s["id"] == sid]
    authors = [m["author"] for m in session["messages"] if m["role"] == "interviewer"]
    assert authors == ["ai", "researcher", "researcher", "ai"]
    rows = csv.DictReader(io.StringIO((await client.get(url, params={"format": "csv"})).text))
    assert [r["author"] for r in rows if r["role"] == "interviewer"] == authors


async def test_takeover_of_an_ended_or_foreign_session_is_refused(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    _, respondent = await llm_session(client, anon)
    await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
    refused = await client.post(f"/v1/sessions/{respondent.id}/takeover")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_not_live"
    assert (await client.post("/v1/sessions/ses_nope/takeover")).status_code == 404


async def test_taking_over_stops_the_turn_being_written(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    _, respondent = await llm_session(client, anon, model="mock@60")
    ours = researcher_feed(client, respondent.id)
    await until(ours, "turn.completed")
    await respondent.say("stuff")  # the probe is written a token at a time
    await until(ours, "turn.delta")
    assert (await client.post(f"/v1/sessions/{respondent.id}/takeover")).status_code == 200
    seen = await until(ours, "turn.completed")
    await ours.aclose()  # type: ignore[attr-defined]
    assert "session.takeover" in [e.event for e in seen]
    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    cut = transcript["messages"][-1]
    assert cut["turn_id"] == "t2" and cut["metadata"]["stopped"] == "takeover"
    assert cut["content"] == seen[-1].data["content"]
    assert cut["content"] != "Can you give me a recent example?", "stopped before its end"
    # Erased like any session, its takeover and instructions with it.
    steered = await client.post(
        f"/v1/sessions/{respondent.id}/steer", json={"instruction": "Ask about their team"}
    )
    assert steered.status_code == 202
    assert (await client.delete(f"/v1/sessions/{respondent.id}")).status_code == 200
