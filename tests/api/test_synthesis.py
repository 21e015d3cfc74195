"""POST/GET /v1/interviews/{id}/synthesis end to end: the job, the report, its quotes, its files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from runtime.access import keys
from runtime.analysis import agreement
from runtime.stores import schema
from runtime.stores.database import Database
from tests.api.test_pdf import pdftotext
from tests.conftest import Server, new_key
from tests.runtime.analysis import planted as planting
from tests.upstream import synthesis as model_answers

pytestmark = pytest.mark.usefixtures("job_worker")
F1_FLOOR = 0.8


async def _planted(db: Database, http: httpx.AsyncClient, sessions: int = 36) -> planting.Planted:
    key = http.headers["authorization"].removeprefix("Bearer ")
    workspace_id = (await keys.authenticate(db, key)).workspace_id
    return await planting.plant(db, workspace_id, sessions=sessions, seed=3)


async def _finished(http: httpx.AsyncClient, interview_id: str) -> dict[str, Any]:
    """The run once it is no longer queued or running (polled as a client would)."""
    async with asyncio.timeout(60):
        while True:
            got = (await http.get(f"/v1/interviews/{interview_id}/synthesis")).json()
            if got["status"] in ("completed", "failed"):
                return dict(got)
            await asyncio.sleep(0.1)


async def _stored_texts(db: Database, message_ids: set[str]) -> dict[str, str]:
    m = schema.messages
    async with db.connect() as conn:
        found = await conn.execute(
            select(m.c.id, m.c.content, m.c.role).where(m.c.id.in_(sorted(message_ids)))
        )
        return {r.id: r.content for r in found if r.role == "respondent"}


def _quotes(report: dict[str, Any]) -> list[dict[str, Any]]:
    sides = [q for v in report["divergent_views"] for s in v["sides"] for q in s["quotes"]]
    return [q for t in report["themes"] for q in t["quotes"]] + sides


def _content(report: dict[str, Any]) -> str:
    """The report without what differs between two runs of the same input (ids, times)."""

    def quotes(found: list[dict[str, Any]]) -> list[Any]:
        return [[q["session_id"], q["message_id"], q["start"], q["end"], q["text"]] for q in found]

    themes = [{**t, "quotes": quotes(t["quotes"])} for t in report["themes"]]
    views = [
        {**v, "sides": [{**s, "quotes": quotes(s["quotes"])} for s in v["sides"]]}
        for v in report["divergent_views"]
    ]
    return json.dumps([report["summary"], themes, views], sort_keys=True)


async def test_an_offline_synthesis_recovers_the_planted_themes_with_real_quotes(
    client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client)
    path = f"/v1/interviews/{planted.interview_id}/synthesis"
    started = await client.post(path, json={"engine": "offline"})
    assert started.status_code == 202, started.text
    assert started.headers["location"] == path
    assert started.json()["status"] in ("queued", "running", "completed")
    report = await _finished(client, planted.interview_id)
    assert report["status"] == "completed", report
    assert report["engine"] == "offline" and report["model"] is None
    assert report["session_count"] == len(planted.session_ids)
    found = [frozenset(t["session_ids"]) for t in report["themes"]]
    score = agreement.agreement(found, list(planted.themes.values()))
    assert score.f1 >= F1_FLOOR, (score, [t["title"] for t in report["themes"]])
    # Every quote shown is the stored text at its offsets, in a session of its theme.
    shown = _quotes(report)
    assert shown and report["counts"]["quotes_dropped"] == 0
    texts = await _stored_texts(db, {q["message_id"] for q in shown})
    for q in shown:
        assert texts[q["message_id"]][q["start"] : q["end"]] == q["text"]
        assert q["participant"].startswith("Participant ")
    for t in report["themes"]:
        assert {q["session_id"] for q in t["quotes"]} <= set(t["session_ids"])
        assert t["prevalence"] == len(t["session_ids"])
    # The divided theme shows both sides.
    assert any(len(v["sides"]) == 2 for v in report["divergent_views"])


async def test_a_re_run_reads_only_new_sessions_and_repeats_itself_exactly(
    client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client, sessions=32)
    path = f"/v1/interviews/{planted.interview_id}/synthesis"
    await client.post(path, json={"engine": "offline"})
    first = await _finished(client, planted.interview_id)
    assert first["counts"]["sessions_read"] == 32
    await client.post(path, json={"engine": "offline"})
    second = await _finished(client, planted.interview_id)
    assert second["id"] != first["id"]
    assert second["counts"]["sessions_read"] == 0 and second["counts"]["sessions_reused"] == 32
    # The same sessions, the same report, to the byte.
    assert _content(second) == _content(first)
    await planting.extend(db, planted, 3)
    await client.post(path, json={"engine": "offline"})
    third = await _finished(client, planted.interview_id)
    assert (third["counts"]["sessions_read"], third["counts"]["sessions_reused"]) == (3, 32)
    assert third["session_count"] == 35


async def test_the_llm_names_the_themes_and_its_made_up_quote_is_dropped(
    client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client)
    # Without an engine named, the configured LLM's is the default.
    started = await client.post(f"/v1/interviews/{planted.interview_id}/synthesis")
    assert started.json()["engine"] == "llm"
    report = await _finished(client, planted.interview_id)
    assert report["status"] == "completed" and report["engine"] == "llm", report
    assert report["model"]
    assert report["summary"].startswith(model_answers.SUMMARY_PREFIX)
    assert all(t["title"].startswith(model_answers.TITLE_PREFIX) for t in report["themes"])
    # The model's sentiment for theme 0 was no sentiment at all: the offline one stays.
    assert report["themes"][0]["sentiment"] in ("positive", "negative", "neutral", "mixed")
    shown = _quotes(report)
    assert all(model_answers.FABRICATED not in q["text"] for q in shown)
    # One made-up quote per theme, each dropped and counted.
    assert report["counts"]["quotes_dropped"] >= len(report["themes"])
    texts = await _stored_texts(db, {q["message_id"] for q in shown})
    assert all(texts[q["message_id"]][q["start"] : q["end"]] == q["text"] for q in shown)


async def test_a_model_that_answers_prose_leaves_the_offline_report(
    server: Server, client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client, sessions=30)
    services = server.app.state.services
    original = services.settings
    services.settings = dataclasses.replace(original, llm_model="mock:malformed")
    try:
        await client.post(f"/v1/interviews/{planted.interview_id}/synthesis")
        report = await _finished(client, planted.interview_id)
    finally:
        services.settings = original
    assert report["status"] == "completed" and report["engine"] == "offline"
    assert any("LLM did not answer" in note for note in report["notes"])
    assert not any(t["title"].startswith(model_answers.TITLE_PREFIX) for t in report["themes"])


async def test_the_report_as_markdown_and_pdf(client: httpx.AsyncClient, db: Database) -> None:
    planted = await _planted(db, client, sessions=30)
    path = f"/v1/interviews/{planted.interview_id}/synthesis"
    # No report yet: a document cannot be made, and the interview was never synthesized.
    assert (await client.get(path, params={"format": "md"})).status_code == 409
    assert (await client.get(path)).status_code == 404
    await client.post(path, json={"engine": "offline"})
    report = await _finished(client, planted.interview_id)
    md = await client.get(path, params={"format": "md"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    for theme in report["themes"]:
        assert theme["title"] in md.text
    pdf = await client.get(path, params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join((await pdftotext(pdf.content)).split())
    assert report["themes"][0]["title"] in text
    assert (await client.get(path, params={"format": "docx"})).status_code == 400


async def test_bad_requests_are_refused_in_the_documented_shape(
    server: Server, client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client, sessions=3)
    path = f"/v1/interviews/{planted.interview_id}/synthesis"
    for body, field in (
        ({"engine": "gpt"}, "engine"),
        ({"statuses": []}, "statuses"),
        ({"statuses": ["done"]}, "statuses"),
        ({"since": "yesterday"}, "since"),
        ({"include_test": "yes"}, "include_test"),
    ):
        refused = await client.post(path, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
        assert refused.json()["error"]["field"] == field
    # Another workspace's interview does not exist for this key.
    other = await new_key(db)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {other}"}
    ) as stranger:
        assert (await stranger.post(path, json={})).status_code == 404
        assert (await stranger.get(path)).status_code == 404
    # A read-only key reads, but does not start a run.
    workspace = (await keys.authenticate(db, client.headers["authorization"][7:])).workspace_id
    reader = (
        await keys.create_key(db, workspace, "reader", (keys.SESSIONS_READ,), keys.DEFAULT_PLAN)
    ).plaintext
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {reader}"}
    ) as read_only:
        assert (await read_only.post(path, json={})).status_code == 403
    draft = (await client.post("/v1/interviews", json={"title": "Draft"})).json()
    refused = await client.post(f"/v1/interviews/{draft['id']}/synthesis", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


async def test_one_run_at_a_time_and_the_webhook_says_it_finished(
    client: httpx.AsyncClient, db: Database
) -> None:
    planted = await _planted(db, client, sessions=30)
    await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                            "events": ["synthesis.completed"]})  # fmt: skip
    path = f"/v1/interviews/{planted.interview_id}/synthesis"
    first, second = await asyncio.gather(
        client.post(path, json={"engine": "offline"}), client.post(path, json={"engine": "offline"})
    )
    assert first.json()["id"] == second.json()["id"]
    report = await _finished(client, planted.interview_id)
    d = schema.webhook_deliveries
    async with db.connect() as conn:
        rows = list(
            await conn.execute(select(d.c.payload).where(d.c.event_type == "synthesis.completed"))
        )
    mine = [r.payload["data"] for r in rows if r.payload["data"]["synthesis_id"] == report["id"]]
    assert len(mine) == 1
    assert mine[0]["status"] == "completed" and mine[0]["themes"] == len(report["themes"])
