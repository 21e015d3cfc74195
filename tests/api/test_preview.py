"""Preview (test) sessions: on drafts too, and left out of counts and listings by default."""

from __future__ import annotations

import httpx

from tests.helpers import GUIDE, Respondent, next_turn, published_interview, sse_events


async def draft_with_guide(client: httpx.AsyncClient) -> dict[str, object]:
    created = (await client.post("/v1/interviews", json={"title": "Draft", "engine": "llm"})).json()
    await client.post(f"/v1/interviews/{created['id']}/sections", json={"title": "Main"})
    await client.post(f"/v1/interviews/{created['id']}/sections/S1/questions", json=GUIDE[0])
    return created  # type: ignore[no-any-return]


async def previewed_draft(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> tuple[dict[str, object], Respondent]:
    """A draft with a question, and a preview session started on it."""
    draft = await draft_with_guide(client)
    started = await client.post(f"/v1/interviews/{draft['id']}/preview-sessions", json={})
    assert started.status_code == 201, started.text
    return draft, Respondent(anon, started.json())


async def test_a_draft_can_be_previewed_on_its_current_guide(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    draft, preview = await previewed_draft(client, anon)
    events = sse_events(anon, preview.session["events_url"])
    _, opening = await next_turn(events)
    assert "What do you use our app for?" in opening
    # Editing the draft afterwards does not change the guide the preview runs on.
    edited = await client.patch(
        f"/v1/interviews/{draft['id']}/questions/Q1", json={"text": "Something else entirely?"}
    )
    assert edited.status_code == 200, edited.text
    await preview.say("It helps me plan the week with my whole team, every Monday.")
    _, closing = await next_turn(events)
    assert "Something else" not in closing and closing.startswith("Thank you")
    await events.aclose()
    view = (await client.get(f"/v1/sessions/{preview.id}")).json()
    assert view["is_test"] is True and view["guide_version"] < 0


async def test_test_sessions_are_left_out_unless_asked_for(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    real = await anon.post(f"/v1/public/interviews/{interview['share_token']}/sessions", json={})
    test = await client.post(f"/v1/interviews/{interview['id']}/preview-sessions", json={})
    assert real.status_code == 201 and test.status_code == 201
    assert test.json()["session_id"] != real.json()["session_id"]
    base = f"/v1/interviews/{interview['id']}/sessions"
    listed = [s["id"] for s in (await client.get(base)).json()["items"]]
    assert listed == [real.json()["session_id"]]
    everything = (await client.get(base, params={"include_test": "true"})).json()["items"]
    assert {s["id"] for s in everything} == {real.json()["session_id"], test.json()["session_id"]}
    counts = (await client.get(f"/v1/interviews/{interview['id']}")).json()["session_counts"]
    assert counts["total"] == 1
    bad = await client.get(base, params={"include_test": "yes"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "include_test"


async def test_preview_needs_a_question_and_an_owner(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    empty = (await client.post("/v1/interviews", json={"title": "Empty"})).json()
    refused = await client.post(f"/v1/interviews/{empty['id']}/preview-sessions")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    anonymous = await anon.post(f"/v1/interviews/{empty['id']}/preview-sessions")
    assert anonymous.status_code == 401
    bad = await client.post(f"/v1/interviews/{empty['id']}/preview-sessions", json={"nme": 1})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "nme"


async def test_a_previewed_draft_can_be_deleted_with_its_previews(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    draft, preview = await previewed_draft(client, anon)
    events = sse_events(anon, preview.session["events_url"])
    await next_turn(events)
    await events.aclose()
    said = await preview.say("Planning, mostly.")
    assert said.status_code == 202, said.text

    deleted = await client.delete(f"/v1/interviews/{draft['id']}")
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/v1/interviews/{draft['id']}")).status_code == 404
    assert (await client.get(f"/v1/sessions/{preview.id}")).status_code == 404
    # Its token no longer opens anything either.
    assert (await preview.say("Still there?")).status_code in (401, 404)
