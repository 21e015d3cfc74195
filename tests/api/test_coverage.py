"""GET /v1/sessions/{id}/coverage and /v1/interviews/{id}/coverage on real conversations."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from runtime.access import keys
from runtime.stores import schema
from runtime.stores.database import Database
from tests.api.test_pdf import pdftotext, rendered
from tests.conftest import Server, new_key
from tests.helpers import (
    Event,
    Respondent,
    converse,
    next_turn,
    published_interview,
    sse_events,
    start_session,
)

_m = schema.messages


async def assert_stored(
    db: Database, session_id: str, moves: list[str], answers: list[dict[str, Any]]
) -> None:
    """What the engine stored as it went: each interviewer message's metadata.move and each
    respondent message's metadata.answer, in order (docs/coverage.md reads them)."""
    async with db.connect() as conn:
        rows = list(
            await conn.execute(
                select(_m.c.role, _m.c.metadata)
                .where(_m.c.session_id == session_id)
                .order_by(_m.c.seq)
            )
        )
    said = [(r.metadata or {}).get("answer") for r in rows if r.role == "respondent"]
    told = [(r.metadata or {}).get("move") for r in rows if r.role == "interviewer"]
    assert (told, said) == (moves, answers)


def answer(kind: str = "question", value: Any = None, status: str | None = None) -> dict[str, Any]:
    resolved = status == "resolved"
    return {
        "kind": kind,
        "value": value,
        "value_status": status,
        "confidence": 1.0 if resolved else None,
        "resolved_by": "rule" if resolved else None,
    }


async def _on_the_rating(anon: httpx.AsyncClient, share_token: str) -> Respondent:
    """A respondent who answered Q1 (probed) and chose plan 2, and is asked Q3."""
    who = await start_session(anon, share_token)
    events = sse_events(anon, who.session["events_url"])
    try:
        await next_turn(events)
        for said in ("ok", "We plan each week's customer research in it.", "2"):
            assert (await who.say(said)).status_code == 202
            await next_turn(events)
    finally:
        await events.aclose()
    return who


async def test_a_session_coverage_follows_its_messages(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    interview = await published_interview(client)
    who = await _on_the_rating(anon, interview["share_token"])
    answers = [answer(), answer("probe"), answer(value="Pro", status="resolved")]
    await assert_stored(db, who.id, ["open", "probe", "ask", "ask"], answers)
    got = await client.get(f"/v1/sessions/{who.id}/coverage")
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["session_id"], body["interview_id"], body["status"]) == (
        who.id,
        interview["id"],
        "in_progress",
    )
    items = {item["item_id"]: item for item in body["items"]}
    assert [items[i]["status"] for i in ("Q1", "Q2", "Q3")] == ["probed", "answered", "asked"]
    assert (items["Q1"]["probes_used"], items["Q1"]["probe_budget"]) == (1, 1)
    assert (items["Q2"]["value"], items["Q2"]["value_status"]) == ("Pro", "resolved")
    messages = (await client.get(f"/v1/sessions/{who.id}/transcript")).json()["messages"]
    ids = [m["id"] for m in messages]
    assert items["Q1"]["message_ids"] == ids[0:4] and items["Q3"]["message_ids"] == ids[6:]
    assert (body["answered"], body["total"], body["required_open"]) == (2, 3, 1)
    assert body["share"] == round(2 / 3, 4)


async def test_coverage_takes_a_read_key_and_is_404_elsewhere(
    server: Server, db: Database, anon: httpx.AsyncClient
) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    owner = {"authorization": f"Bearer {await new_key(db, workspace)}"}
    async with httpx.AsyncClient(base_url=server.url, headers=owner, timeout=20) as client:
        interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    urls = [f"/v1/sessions/{who.id}/coverage", f"/v1/interviews/{interview['id']}/coverage"]
    read_only = await new_key(db, workspace, (keys.SESSIONS_READ,))
    no_sessions = await new_key(db, workspace, (keys.INTERVIEWS_READ,))
    elsewhere = await new_key(db)
    for url in urls:
        for key, status in ((read_only, 200), (no_sessions, 403), (elsewhere, 404)):
            got = await anon.get(url, headers={"authorization": f"Bearer {key}"})
            assert got.status_code == status, (url, status, got.text)
        assert (await anon.get(url)).status_code == 401
    missing = await anon.get("/v1/sessions/ses_missing/coverage", headers=owner)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_an_interview_coverage_adds_its_sessions_up(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    interview = await published_interview(client)
    token = interview["share_token"]
    live = await _on_the_rating(anon, token)
    await assert_stored(
        db,
        live.id,
        ["open", "probe", "ask", "ask"],
        [answer(), answer("probe"), answer(value="Pro", status="resolved")],
    )
    done = await converse(anon, token, ["We plan each week's customer research in it.", "3", "4"])
    await assert_stored(
        db,
        done.id,
        ["open", "ask", "ask", "close"],
        [answer(), answer(value="Team", status="resolved"), answer(value=4, status="resolved")],
    )
    preview = await client.post(f"/v1/interviews/{interview['id']}/preview-sessions")
    assert preview.status_code == 201
    url = f"/v1/interviews/{interview['id']}/coverage"
    body = (await client.get(url)).json()
    assert (body["interview_id"], body["sessions"], body["include_test"]) == (
        interview["id"],
        2,
        False,
    )
    q1, q2, q3 = body["items"]
    assert (q1["statuses"]["probed"], q1["statuses"]["answered"], q1["distribution"]) == (
        1,
        1,
        None,
    )
    assert q2["distribution"] == {
        "values": [
            {"value": "Free", "count": 0},
            {"value": "Pro", "count": 1},
            {"value": "Team", "count": 1},
        ],
        "unresolved": 0,
        "mean": None,
        "median": None,
    }
    assert q3["statuses"] == {
        "not_started": 0,
        "asked": 1,
        "answered": 1,
        "probed": 0,
        "skipped": 0,
        "unresolved": 0,
    }
    rating = q3["distribution"]
    assert [v["count"] for v in rating["values"]] == [0, 0, 0, 1, 0]
    assert (rating["mean"], rating["median"]) == (4.0, 4.0)
    with_test = (await client.get(url, params={"include_test": "true"})).json()
    assert (with_test["sessions"], with_test["include_test"]) == (3, True)
    bad = await client.get(url, params={"include_test": "yes"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    assert bad.json()["error"]["field"] == "include_test"


async def _until(events: Any, wanted: str) -> list[Event]:
    seen: list[Event] = []
    async for event in events:
        seen.append(event)
        if event.event == wanted:
            return seen
    raise AssertionError(f"no {wanted} in {[e.event for e in seen]}")


async def test_each_turn_is_followed_by_its_coverage_on_the_stream(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    url = who.session["events_url"]
    events = sse_events(anon, url)
    try:
        first = await _until(events, "coverage.updated")
        assert [e.event for e in first[-2:]] == ["turn.completed", "coverage.updated"]
        opened = first[-1].data
        assert (opened["turn_id"], opened["answered"], opened["total"]) == ("t1", 0, 3)
        assert [(i["item_id"], i["status"]) for i in opened["items"]] == [
            ("Q1", "asked"),
            ("Q2", "not_started"),
            ("Q3", "not_started"),
        ]
        said = await who.say("We plan every week's customer research in it.")
        assert said.status_code == 202
        second = await _until(events, "coverage.updated")
    finally:
        await events.aclose()
    assert [e.event for e in second[-2:]] == ["turn.completed", "coverage.updated"]
    after = second[-1].data
    assert after["turn_id"] == "t2" and after["answered"] == 1
    assert [i["status"] for i in after["items"]] == ["answered", "asked", "not_started"]
    # The compact form of what GET …/coverage answers.
    full = (await client.get(f"/v1/sessions/{who.id}/coverage")).json()
    summary = ("answered", "total", "share", "required_open")
    assert {k: after[k] for k in summary} == {k: full[k] for k in summary}
    assert after["items"] == [
        {"item_id": i["item_id"], "status": i["status"], "value": i["value"]} for i in full["items"]
    ]
    # Resumed after the first turn.completed, the stream gives its coverage again, by id.
    completed = first[-2]
    resumed = sse_events(anon, url, headers={"last-event-id": completed.id})
    try:
        again = await anext(resumed)
    finally:
        await resumed.aclose()
    assert (again.id, again.event, again.data) == (first[-1].id, "coverage.updated", opened)


@pytest.mark.usefixtures("job_worker")
async def test_coverage_is_in_the_pdf_and_the_exports(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server, db: Database
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], ["We plan every week's research.", "2"])
    answers = [answer(), answer(value="Pro", status="resolved")]
    await assert_stored(db, who.id, ["open", "ask", "ask"], answers)
    text = await pdftotext(await rendered(client, server, who.id))
    coverage = text[text.index("Coverage") :]
    # Q3 was asked, and the respondent ended the session before answering it.
    for label in ("Q1", "answered", "Q2", "answered · Pro", "Q3", "asked"):
        assert label in coverage, (label, coverage)

    exported = f"/v1/interviews/{interview['id']}/transcripts"
    session = json.loads((await client.get(exported)).content)["sessions"][0]
    assert session["coverage"] == (await client.get(f"/v1/sessions/{who.id}/coverage")).json()
    assert [i["status"] for i in session["coverage"]["items"]] == [
        "answered",
        "answered",
        "asked",
    ]

    zipped = await client.get(exported, params={"format": "csv", "include_pdf": "true"})
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("coverage.csv").decode("utf-8-sig"))))
        # The PDF rendered above is current: the recorded values are in its fingerprint.
        assert f"pdf/{who.id}.pdf" in archive.namelist()
    assert rows == [
        ["session_id", "item_id", "status", "value"],
        [who.id, "Q1", "answered", ""],
        [who.id, "Q2", "answered", "Pro"],
        [who.id, "Q3", "asked", ""],
    ]
