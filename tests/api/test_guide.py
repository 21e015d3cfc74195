"""The study guide over the API: each edit returns the whole guide; publish freezes a version."""

from __future__ import annotations

import httpx

from tests.helpers import next_turn, published_interview, sse_events, start_session


async def test_sections_items_and_reorder(client: httpx.AsyncClient) -> None:
    interview = (await client.post("/v1/interviews", json={"title": "Guide"})).json()
    base = f"/v1/interviews/{interview['id']}"
    guide = (await client.post(f"{base}/sections", json={"title": "Intro"})).json()
    assert guide["sections"] == [{"id": "S1", "title": "Intro", "items": []}]
    await client.post(f"{base}/sections", json={"title": "Deep dive"})
    q1 = await client.post(
        f"{base}/sections/S1/questions",
        json={"text": "Role?", "question_type": "multiple_choice", "options": ["PM", "Eng"]},
    )
    assert q1.status_code == 201
    item = q1.json()["sections"][0]["items"][0]
    assert item["id"] == "Q1" and item["options"] == ["PM", "Eng"] and item["probe_budget"] == 1
    await client.post(f"{base}/sections/S1/questions", json={"text": "Why?", "follow_up": "More?"})
    task = await client.post(f"{base}/sections/S2/tasks", json={"text": "Try the export"})
    assert task.json()["sections"][1]["items"][0]["id"] == "T1"
    rated = await client.post(
        f"{base}/sections/S2/questions",
        json={"text": "Rate it", "question_type": "rating", "scale": {"min": 0, "max": 10}},
    )
    assert rated.json()["sections"][1]["items"][1]["scale"]["max"] == 10

    moved = (
        await client.post(f"{base}/guide/reorder", json={"item_id": "Q2", "after": None})
    ).json()
    assert [i["id"] for i in moved["sections"][0]["items"]] == ["Q2", "Q1"]
    across = await client.post(
        f"{base}/guide/reorder", json={"item_id": "Q1", "section_id": "S2", "after": "T1"}
    )
    assert [i["id"] for i in across.json()["sections"][1]["items"]] == ["T1", "Q1", "Q3"]
    sections = await client.post(f"{base}/guide/reorder", json={"section_id": "S2", "after": None})
    assert [s["id"] for s in sections.json()["sections"]] == ["S2", "S1"]

    updated = await client.patch(f"{base}/questions/Q2", json={"text": "Why exactly?"})
    assert updated.status_code == 200
    q2 = updated.json()["sections"][1]["items"][0]
    assert q2["text"] == "Why exactly?" and q2["follow_up"] == "More?", "only given fields change"
    deleted = await client.delete(f"{base}/questions/Q3")
    assert "Q3" not in str(deleted.json())
    again = await client.post(f"{base}/sections/S1/questions", json={"text": "New"})
    assert again.json()["sections"][1]["items"][-1]["id"] == "Q4", "ids are never reused"
    renamed = await client.patch(f"{base}/sections/S1", json={"title": "Basics"})
    assert renamed.json()["sections"][1]["title"] == "Basics"
    assert (await client.delete(f"{base}/sections/S9")).status_code == 404
    assert (await client.get(f"{base}/guide")).json()["sections"] == renamed.json()["sections"]


async def test_item_validation_errors(client: httpx.AsyncClient) -> None:
    interview = (await client.post("/v1/interviews", json={"title": "Bad"})).json()
    base = f"/v1/interviews/{interview['id']}"
    await client.post(f"{base}/sections", json={"title": "S"})
    cases = [
        ({"text": "Pick", "question_type": "multiple_choice", "options": ["one"]}, "options"),
        ({"text": "Pick", "question_type": "multiple_choice", "options": ["a", "A"]}, "options"),
        ({"text": "Open", "options": ["a", "b"]}, "options"),
        ({"text": "Rate", "question_type": "rating", "scale": {"min": 5, "max": 1}}, "scale"),
        ({"text": "x", "question_type": "essay"}, "question_type"),
        ({"text": "x", "probe_budget": 9}, "probe_budget"),
        ({"text": ""}, "text"),
        ({"question_type": "rating"}, "text"),
        ({"text": "x", "colour": "red"}, "colour"),
        ({"text": 5}, "text"),
    ]
    for body, field in cases:
        response = await client.post(f"{base}/sections/S1/questions", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == {
            "code": "validation_error",
            "message": response.json()["error"]["message"],
            "field": field,
        }
    guide = (await client.get(f"{base}/guide")).json()
    assert guide["sections"][0]["items"] == [], "a rejected edit changes nothing"
    bad_reorder = await client.post(f"{base}/guide/reorder", json={"item_id": "Q1", "after": None})
    assert bad_reorder.status_code == 404


async def test_publishing_freezes_and_sessions_keep_their_version(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    assert interview["guide_version"] == 1
    base = f"/v1/interviews/{interview['id']}"
    early = await start_session(anon, interview["share_token"])
    edited = await client.patch(f"{base}/questions/Q1", json={"text": "What is your job?"})
    assert edited.json()["version"] == 2
    late = await start_session(anon, interview["share_token"])
    _, early_open = await next_turn(sse_events(anon, early.session["events_url"]))
    _, late_open = await next_turn(sse_events(anon, late.session["events_url"]))
    assert "What do you use our app for?" in early_open
    assert "What is your job?" in late_open
    sessions = (await client.get(f"{base}/sessions")).json()["items"]
    assert {s["id"]: s["guide_version"] for s in sessions} == {early.id: 1, late.id: 2}
