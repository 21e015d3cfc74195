"""GET /v1/sessions/{id}/summary on real conversations, the job that keeps it current, and
the sessions list sorted by quality."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import httpx
import pytest
from sqlalchemy import select

from runtime.access import keys
from runtime.analysis.summaries import queue as session_analysis
from runtime.stores import schema
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import converse, published_interview, start_session

_sa = schema.session_analyses
RICH = "We plan each week's customer research in it, with three product teams and a shared board."
# Answers for the default guide (Q1 open with a follow-up, Q2 a plan, Q3 a rating): from a
# thin session to a rich one.
CONVERSATIONS = [
    ["ok", "idk", "1", "1"],
    ["We plan research in it.", "2", "3"],
    [RICH, "3", "5"],
]


async def test_a_summary_cites_the_respondent_messages_verbatim(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], [RICH, "2", "4"])
    got = await client.get(f"/v1/sessions/{who.id}/summary")
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["session_id"], body["interview_id"], body["status"]) == (
        who.id,
        interview["id"],
        "completed",
    )
    assert (body["engine"], body["judged"]) == ("offline", None)
    messages = (await client.get(f"/v1/sessions/{who.id}/transcript")).json()["messages"]
    said = {m["id"]: m for m in messages if m["role"] == "respondent"}
    assert body["key_points"] == [
        {"text": RICH, "message_ids": [next(iter(said))], "item_id": "Q1"}
    ]
    quality = body["quality"]
    assert quality["turns"] == {
        "interviewer": sum(1 for m in messages if m["role"] == "interviewer"),
        "respondent": 3,
    }
    assert quality["guide_coverage"] == 1.0 and quality["thin_answer_rate"] == 0.0
    assert quality["stacked_questions"] == {"count": 0, "message_ids": []}
    assert 0 < quality["quality_index"] <= 1
    assert body["overview"] == f"Covered 3 of 3 guide items. Main points: {RICH}"
    again = await client.get(f"/v1/sessions/{who.id}/summary")
    assert again.content == got.content
    detail = (await client.get(f"/v1/sessions/{who.id}")).json()
    assert detail["quality_index"] == quality["quality_index"]


async def test_the_summary_takes_a_read_key_and_is_404_elsewhere(
    server: Server, db: Database, anon: httpx.AsyncClient
) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    owner = {"authorization": f"Bearer {await new_key(db, workspace)}"}
    async with httpx.AsyncClient(base_url=server.url, headers=owner, timeout=20) as client:
        interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    url = f"/v1/sessions/{who.id}/summary"
    read_only = await new_key(db, workspace, (keys.SESSIONS_READ,))
    no_sessions = await new_key(db, workspace, (keys.INTERVIEWS_READ,))
    elsewhere = await new_key(db)
    for key, status in ((read_only, 200), (no_sessions, 403), (elsewhere, 404)):
        got = await anon.get(url, headers={"authorization": f"Bearer {key}"})
        assert got.status_code == status, (status, got.text)
    assert (await anon.get(url)).status_code == 401
    missing = await anon.get("/v1/sessions/ses_missing/summary", headers=owner)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "answers",
    [[RICH], [RICH, "2", "4"]],
    # Ended by the respondent (queued as it ends), or by its last turn (queued by the sweeper).
    ids=["ended_early", "finished"],
)
async def test_a_session_that_ends_gets_its_analysis_from_the_job(
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    db: Database,
    job_worker: None,
    answers: list[str],
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], answers)
    query = select(_sa.c.quality_index, _sa.c.data).where(_sa.c.session_id == who.id)
    async with asyncio.timeout(20):
        while True:
            async with db.connect() as conn:
                row = (await conn.execute(query)).first()
            if row is not None:
                break
            await asyncio.sleep(0.05)  # polled: the job runs in the worker, nothing to await
    got = (await client.get(f"/v1/sessions/{who.id}/summary")).json()
    assert row.quality_index == got["quality"]["quality_index"]
    assert row.data["summary"]["key_points"] == got["key_points"]


async def test_sessions_sort_by_quality_across_pages(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    ids = [(await converse(anon, interview["share_token"], said)).id for said in CONVERSATIONS]
    index = {}
    for session_id in ids:
        summary = (await client.get(f"/v1/sessions/{session_id}/summary")).json()
        index[session_id] = summary["quality"]["quality_index"]
    assert index[ids[0]] < index[ids[1]] < index[ids[2]]
    live = (await start_session(anon, interview["share_token"])).id  # not analysed: last
    url = f"/v1/interviews/{interview['id']}/sessions"

    async def walk(sort: str) -> list[tuple[str, float | None]]:
        seen, cursor = [], None
        while True:
            query = {"sort": sort, "limit": "1", **({"cursor": cursor} if cursor else {})}
            got = await client.get(url, params=query)
            assert got.status_code == 200, got.text
            body = got.json()
            seen += [(s["id"], s["quality_index"]) for s in body["items"]]
            cursor = body["next_cursor"]
            assert body["has_more"] == (cursor is not None)
            if cursor is None:
                return seen

    best_first = await walk("quality_desc")
    assert best_first == [(i, index[i]) for i in reversed(ids)] + [(live, None)]
    worst_first = await walk("quality_asc")
    assert worst_first == [(i, index[i]) for i in ids] + [(live, None)]
    newest = await walk("created_desc")
    assert [i for i, _ in newest] == [live, *reversed(ids)]


async def test_a_bad_sort_or_a_cursor_of_another_sort_is_400(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    for said in CONVERSATIONS[:2]:
        await converse(anon, interview["share_token"], said)
    url = f"/v1/interviews/{interview['id']}/sessions"
    bad = await client.get(url, params={"sort": "best"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "sort"
    newest = (await client.get(url, params={"limit": "1"})).json()["next_cursor"]
    best = (await client.get(url, params={"limit": "1", "sort": "quality_desc"})).json()
    for sort, cursor in (
        ("quality_desc", newest),
        ("created_desc", best["next_cursor"]),
        ("quality_asc", best["next_cursor"]),
    ):
        got = await client.get(url, params={"limit": "1", "sort": sort, "cursor": cursor})
        assert got.status_code == 400, (sort, got.text)
        assert got.json()["error"] == {
            "code": "validation_error",
            "message": got.json()["error"]["message"],
            "field": "cursor",
        }


async def test_erasing_a_session_erases_its_analysis_and_its_queued_job(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], [RICH, "2", "4"])
    assert (await client.get(f"/v1/sessions/{who.id}/summary")).status_code == 200
    services = server.app.state.services
    jobs = services.jobs
    # Queued by the sweeper once it saw the session end, or now (no worker runs here).
    await session_analysis.enqueue(services, who.id)
    assert await jobs.job(session_analysis.job_key(who.id)) is not None
    erased = await client.delete(f"/v1/sessions/{who.id}")
    assert erased.status_code == 200, erased.text
    async with db.connect() as conn:
        left = (await conn.execute(select(_sa).where(_sa.c.session_id == who.id))).first()
    assert left is None
    assert await jobs.job(session_analysis.job_key(who.id)) is None
    assert (await client.get(f"/v1/sessions/{who.id}/summary")).status_code == 404


async def test_the_llm_judges_once_and_a_card_off_its_scale_is_refused(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], [RICH, "2", "4"])
    path = f"/v1/sessions/{who.id}/summary"
    services = server.app.state.services
    original = services.settings
    services.settings = dataclasses.replace(original, llm_model="mock:bad-value")
    try:
        refused = await client.get(path, params={"judge": "true"})
    finally:
        services.settings = original
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "upstream_failed"
    judged = await client.get(path, params={"judge": "true"})
    assert judged.status_code == 200, judged.text
    card = judged.json()["judged"]
    assert (card["coherence"], card["adaptiveness"], card["comfort"]) == (3, 2, 4)
    assert card["model"] == original.llm_model and card["judged_at"].endswith("Z")
    # Kept: asked again (or read without judge) the same card, and the numbers beside it.
    plain = (await client.get(path)).json()
    assert plain["judged"] == card and plain["quality"] == judged.json()["quality"]
    services.settings = dataclasses.replace(original, llm_base_url="", llm_api_key="")
    try:
        unconfigured = await client.get(path, params={"judge": "true"})
    finally:
        services.settings = original
    assert unconfigured.status_code == 200  # its card was kept: no model is asked
    other = await converse(anon, interview["share_token"], ["We plan research in it.", "2", "3"])
    services.settings = dataclasses.replace(original, llm_base_url="", llm_api_key="")
    try:
        missing = await client.get(f"/v1/sessions/{other.id}/summary", params={"judge": "true"})
    finally:
        services.settings = original
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "judge"
