"""Recorded moves and answers through the API: transcript, resume, exports and the PDF."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from runtime.access import keys
from runtime.exports.formats import csv_chunks
from runtime.exports.source import Selection, Source
from runtime.sessions import store as sessions
from runtime.sessions.answers import NO_VALUE
from runtime.stores.database import Database
from tests.api.test_pdf import pdftotext, rendered
from tests.conftest import Server
from tests.helpers import converse, published_interview
from tests.recorded import answer, record, unrecord

# Answers to the helpers' guide (Q1 open-ended, Q2 Free/Pro/Team, Q3 a required rating)
# that the scripted engine takes as: enough for Q1, no plan then plan 2, no number three
# times (Q3 unresolved), then 4 when Q3 is asked once more before closing.
ANSWERS = ["We plan every sprint with it", "the cheap one", "2", "dunno", "hmm", "no idea", "4"]
MOVES = ["open", "ask", "reask", "ask", "reask", "reask", "ask", "close"]
RECORDED = [
    answer("question"),
    answer("question", None, "invalid"),
    answer("reask", "Pro", "resolved", 1.0, "rule"),
    answer("question", None, "invalid"),
    answer("reask", None, "invalid"),
    answer("reask", None, "unresolved"),
    answer("question", 4, "resolved", 1.0, "rule"),
]


@pytest.fixture
async def recorded(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> dict[str, Any]:
    """A finished session of real turns, its moves and answers recorded as issue 11 says."""
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], ANSWERS, name="Ada", email="a@x.io")
    # The engine recorded them as it went: each turn's move, each answer's kind and value.
    async with db.connect() as conn:
        stored = await sessions.messages(conn, who.id)
    assert [(r.metadata or {}).get("move") for r in stored[::2]] == MOVES
    assert [(r.metadata or {}).get("answer") for r in stored[1::2]] == RECORDED
    return {"interview": interview, "who": who}


async def test_transcript_messages_and_turns_carry_them(
    client: httpx.AsyncClient, db: Database, recorded: dict[str, Any]
) -> None:
    url = f"/v1/sessions/{recorded['who'].id}/transcript"
    body = (await client.get(url)).json()
    messages = body["messages"]
    assert [m["move"] for m in messages if m["role"] == "interviewer"] == MOVES
    assert [m["answer"] for m in messages if m["role"] == "respondent"] == RECORDED
    assert all(m["answer"] is None for m in messages if m["role"] == "interviewer")
    assert [
        (t["move"], t["answer_kind"], t["value"], t["value_status"]) for t in body["turns"]
    ] == [
        ("open", "question", None, None),
        ("ask", "question", None, "invalid"),
        ("reask", "reask", "Pro", "resolved"),
        ("ask", "question", None, "invalid"),
        ("reask", "reask", None, "invalid"),
        ("reask", "reask", None, "unresolved"),
        ("ask", "question", 4, "resolved"),
        ("close", None, None, None),
    ]
    assert body["turns"][2]["confidence"] == 1.0 and body["turns"][2]["answer"] == "2"
    text = (await client.get(url, params={"format": "txt"})).text
    assert "  2\n→ Pro\n" in text and f"  no idea\n→ {NO_VALUE}\n" in text
    md = (await client.get(url, params={"format": "md"})).text
    assert "> 2\n\n→ Pro\n" in md
    # The stored renderings follow the value: a changed one is a new file.
    assert "→ Pro" in await _stored_txt(client, recorded["who"].id)
    changed: list[dict[str, Any]] = [{} for _ in messages]
    changed[5] = {"answer": answer("reask", "Team", "resolved", 0.7, "model")}
    await record(db, recorded["who"].id, changed)  # as if read differently since
    stored = await _stored_txt(client, recorded["who"].id)
    assert "  2\n→ Team\n" in stored and "→ Pro" not in stored


async def _stored_txt(client: httpx.AsyncClient, session_id: str) -> str:
    files = (await client.get(f"/v1/sessions/{session_id}/files")).json()["items"]
    txt = next(f for f in files if f["name"].endswith(".txt"))
    return (await client.get(txt["url"])).text


async def test_a_resuming_respondent_sees_answers_but_no_accounting(
    anon: httpx.AsyncClient, recorded: dict[str, Any]
) -> None:
    who = recorded["who"]
    share = recorded["interview"]["share_token"]
    resumed = await anon.post(
        f"/v1/public/interviews/{share}/sessions",
        json={"session_token": who.session["session_token"]},
    )
    assert resumed.status_code == 200, resumed.text
    messages = resumed.json()["messages"]
    assert all("metadata" not in m for m in messages)
    assert [m["answer"] for m in messages if m["role"] == "respondent"] == RECORDED
    assert messages[0]["move"] == "open"


async def test_exports_carry_them_in_json_and_csv(
    client: httpx.AsyncClient, db: Database, api_key: str, recorded: dict[str, Any]
) -> None:
    url = f"/v1/interviews/{recorded['interview']['id']}/transcripts"
    [session] = json.loads((await client.get(url)).content)["sessions"]
    assert [m["move"] for m in session["messages"] if m["role"] == "interviewer"] == MOVES
    assert [m["answer"] for m in session["messages"] if m["role"] == "respondent"] == RECORDED
    assert session["turns"][2]["value"] == "Pro"
    streamed = (await client.get(url, params={"format": "csv"})).content
    # Anonymised, as an export job writes it (the same writer, on the same rows).
    workspace = (await keys.authenticate(db, api_key)).workspace_id
    selection = Selection(workspace, recorded["interview"]["id"], anonymize=True)
    anonymised = b"".join([chunk async for chunk in csv_chunks(Source(db, selection))])
    for anonymize, content in ((False, streamed), (True, anonymised)):
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        assert [r["move"] for r in rows if r["role"] == "interviewer"] == MOVES
        said = [r for r in rows if r["role"] == "respondent"]
        assert [(r["answer_kind"], r["value"], r["value_status"]) for r in said] == [
            ("question", "", ""),
            ("question", "", "invalid"),
            ("reask", "Pro", "resolved"),
            ("question", "", "invalid"),
            ("reask", "", "invalid"),
            ("reask", "", "unresolved"),
            ("question", "4", "resolved"),
        ]
        assert all(r["answer_kind"] == r["value"] == "" for r in rows if r["role"] == "interviewer")
        assert ("respondent_email" in rows[0]) is not anonymize
        assert rows[0]["respondent_name"] == ("Participant 1" if anonymize else "Ada")


async def test_sessions_stored_before_answers_were_recorded_export_empty_cells(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], ANSWERS[:3])
    await unrecord(db, who.id)
    url = f"/v1/interviews/{interview['id']}/transcripts"
    [session] = json.loads((await client.get(url)).content)["sessions"]
    assert all(m["move"] is m["answer"] is None for m in session["messages"])
    assert all(t["move"] is t["value"] is None for t in session["turns"])
    content = (await client.get(url, params={"format": "csv"})).content
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == len(session["messages"])
    assert {(r["move"], r["answer_kind"], r["value"], r["value_status"]) for r in rows} == {
        ("", "", "", "")
    }
    text = (await client.get(f"/v1/sessions/{who.id}/transcript", params={"format": "txt"})).text
    assert "→" not in text and "  2\n" in text


@pytest.mark.usefixtures("job_worker")
async def test_pdf_says_what_was_recorded(
    client: httpx.AsyncClient, server: Server, recorded: dict[str, Any]
) -> None:
    pdf = await rendered(client, server, recorded["who"].id)
    text = await pdftotext(pdf)
    assert text.count("Recorded: Pro") == 1 and text.count("Recorded: 4") == 1
    assert text.count(NO_VALUE.capitalize()) == 1
    # Nothing under an open-ended answer, nor under one asked again.
    assert text.count("Recorded:") == 2
    # An export reads the messages its own way, and still finds the PDF current: it
    # fingerprints the recorded values as the render did.
    url = f"/v1/interviews/{recorded['interview']['id']}/transcripts"
    response = await client.get(url, params={"include_pdf": "true"})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.read(f"pdf/{recorded['who'].id}.pdf") == pdf
