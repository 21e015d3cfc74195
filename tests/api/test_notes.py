"""Notes and bookmarks on a session and its messages: stored, listed, edited, announced to
researchers only, bounded, and erased with the session."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
from sqlalchemy import func, select

from runtime.platform.clock import utcnow
from runtime.platform.ids import new_id
from runtime.sessions import notes
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.transcripts import pdf_files as transcript_pdf
from tests.api.test_pdf import pdftotext
from tests.conftest import Server
from tests.helpers import Respondent, next_turn, published_interview, sse_events, start_session


async def _talked(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> tuple[Respondent, str]:
    """A session past its first answer, and that answer's message id."""
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    events = sse_events(anon, who.session["events_url"], who.auth)
    try:
        await next_turn(events)
        said = await who.say("We plan every sprint with it.")
        assert said.status_code == 202, said.text
        await next_turn(events)
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    return who, said.json()["message_id"]


async def test_notes_and_bookmarks_round_trip(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    who, message_id = await _talked(client, anon)
    url = f"/v1/sessions/{who.id}/notes"
    note = await client.post(url, json={"kind": "note", "body": "Whole-session remark"})
    assert note.status_code == 201, note.text
    assert note.json()["message_id"] is None and note.json()["kind"] == "note"
    mark = await client.post(url, json={"kind": "bookmark", "message_id": message_id})
    assert mark.status_code == 201, mark.text
    assert mark.json()["body"] == "" and mark.json()["message_id"] == message_id
    listed = await client.get(url, params={"limit": 1})
    assert listed.status_code == 200
    first = listed.json()
    assert [n["id"] for n in first["items"]] == [mark.json()["id"]] and first["has_more"]
    rest = await client.get(url, params={"cursor": first["next_cursor"]})
    assert [n["id"] for n in rest.json()["items"]] == [note.json()["id"]]

    edited = await client.patch(f"{url}/{note.json()['id']}", json={"body": "Changed"})
    assert edited.status_code == 200 and edited.json()["body"] == "Changed"
    assert edited.json()["updated_at"] >= note.json()["updated_at"]
    gone = await client.delete(f"{url}/{mark.json()['id']}")
    assert gone.status_code == 204
    again = await client.delete(f"{url}/{mark.json()['id']}")
    assert again.status_code == 404


async def test_notes_are_checked(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    who, _ = await _talked(client, anon)
    url = f"/v1/sessions/{who.id}/notes"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "bookmark"}, "message_id"),
        ({"kind": "note", "body": ""}, "body"),
        ({"kind": "note", "body": "x" * 4001}, "body"),
        ({"kind": "flag", "body": "x"}, "kind"),
        ({"kind": "note", "body": "x", "message_id": "msg_nope"}, "message_id"),
    ]
    for body, field in cases:
        refused = await client.post(url, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["field"] == field, body
    # A bookmark on a message of another session is not one of this session's.
    _, other_message = await _talked(client, anon)
    across = await client.post(url, json={"kind": "bookmark", "message_id": other_message})
    assert across.status_code == 400
    empty_edit = await client.patch(
        f"{url}/{(await client.post(url, json={'kind': 'note', 'body': 'a'})).json()['id']}",
        json={"body": ""},
    )
    assert empty_edit.status_code == 400 and empty_edit.json()["error"]["field"] == "body"


async def test_notes_need_the_scopes_and_the_workspace(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Any
) -> None:
    who, _ = await _talked(client, anon)
    url = f"/v1/sessions/{who.id}/notes"
    made = await client.post("/v1/api-keys", json={"name": "ro", "scopes": ["sessions:read"]})
    reader = {"authorization": f"Bearer {made.json()['key']}"}
    assert (await anon.get(url, headers=reader)).status_code == 200
    refused = await anon.post(url, json={"kind": "note", "body": "x"}, headers=reader)
    assert refused.status_code == 403 and "sessions:write" in refused.json()["error"]["message"]
    assert (await anon.get(url, headers=who.auth)).status_code == 401, "never the respondent"


async def test_a_note_reaches_researchers_streams_only(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    who, message_id = await _talked(client, anon)
    made = await client.post(
        f"/v1/sessions/{who.id}/notes",
        json={"kind": "bookmark", "message_id": message_id, "body": "key quote"},
    )
    assert made.status_code == 201
    seen: list[tuple[str, dict[str, Any]]] = []
    researcher = sse_events(client, f"/v1/sessions/{who.id}/events")
    try:
        async with asyncio.timeout(10):
            async for event in researcher:
                seen.append((event.event, event.data))
                if event.event == "note.added":
                    break
    finally:
        await researcher.aclose()  # type: ignore[attr-defined]
    assert seen[-1][1] == {
        "note_id": made.json()["id"],
        "kind": "bookmark",
        "message_id": message_id,
        "body": "key quote",
    }
    # The respondent's stream replays the same log without it (up to the turn it waits on).
    own = sse_events(anon, who.session["events_url"], who.auth)
    types: list[str] = []
    try:
        async with asyncio.timeout(10):
            async for event in own:
                types.append(event.event)
                if len(types) == len(seen) - 1:
                    break
    finally:
        await own.aclose()  # type: ignore[attr-defined]
    assert "note.added" not in types and types == [t for t, _ in seen[:-1]]


async def test_notes_per_session_are_bounded(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database, monkeypatch: Any
) -> None:
    who, _ = await _talked(client, anon)
    monkeypatch.setattr(notes, "MAX_PER_SESSION", 2)
    url = f"/v1/sessions/{who.id}/notes"
    for n in range(2):
        assert (await client.post(url, json={"kind": "note", "body": f"{n}"})).status_code == 201
    over = await client.post(url, json={"kind": "note", "body": "one too many"})
    assert over.status_code == 409, over.text
    async with db.connect() as conn:
        t = schema.session_notes
        count = await conn.scalar(select(func.count()).where(t.c.session_id == who.id))
    assert count == 2, "nothing stored past the limit"


async def test_erasure_takes_notes_and_instructions(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    who, message_id = await _talked(client, anon)
    made = await client.post(
        f"/v1/sessions/{who.id}/notes", json={"kind": "bookmark", "message_id": message_id}
    )
    assert made.status_code == 201
    steering = schema.steering_instructions
    async with db.begin() as conn:
        row = (
            await conn.execute(select(schema.sessions).where(schema.sessions.c.id == who.id))
        ).one()
        await conn.execute(
            steering.insert().values(
                id=new_id("stx"),
                workspace_id=row.workspace_id,
                interview_id=row.interview_id,
                session_id=who.id,
                seq=1,
                instruction="Ask about pricing",
                mode="next_turn",
                status="queued",
                created_at=utcnow(),
            )
        )
    erased = await client.delete(f"/v1/sessions/{who.id}")
    assert erased.status_code == 200, erased.text
    async with db.connect() as conn:
        for table in (schema.session_notes, steering):
            left = await conn.scalar(select(func.count()).where(table.c.session_id == who.id))
            assert left == 0, table.name


async def test_notes_go_into_transcripts_and_exports_beside_their_message(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    who, message_id = await _talked(client, anon)
    url = f"/v1/sessions/{who.id}/notes"
    on_answer = {"kind": "note", "message_id": message_id, "body": "Sprint **planning** story"}
    assert (await client.post(url, json=on_answer)).status_code == 201
    bookmark = {"kind": "bookmark", "message_id": message_id}
    assert (await client.post(url, json=bookmark)).status_code == 201
    whole = {"kind": "note", "body": "Talkative, trusting"}
    assert (await client.post(url, json=whole)).status_code == 201

    transcript = (await client.get(f"/v1/sessions/{who.id}/transcript")).json()
    assert [(n["kind"], n["message_id"]) for n in transcript["notes"]] == [
        ("note", message_id),
        ("bookmark", message_id),
        ("note", None),
    ]
    md = (await client.get(f"/v1/sessions/{who.id}/transcript", params={"format": "md"})).text
    answer_at = md.index("We plan every sprint with it.")
    # After the answer (before the next turn), outside the quote, escaped.
    note_at = md.index("✎ _Researcher note: Sprint \\*\\*planning\\*\\* story_")
    assert answer_at < note_at < md.index("**Interviewer**", answer_at)
    assert "✎ _Researcher bookmark_" in md
    assert "- **Researcher note:** Talkative, trusting" in md
    txt = (await client.get(f"/v1/sessions/{who.id}/transcript", params={"format": "txt"})).text
    assert "\n✎ Researcher note: Sprint **planning** story\n" in txt

    # The files' links follow: a new note is a new rendering.
    files = (await client.get(f"/v1/sessions/{who.id}/files")).json()["items"]
    linked = next(f for f in files if f["name"].endswith(".md"))
    assert "Talkative" in (await anon.get(linked["url"])).text

    interview_id = transcript["interview_id"]
    exported = (await client.get(f"/v1/interviews/{interview_id}/transcripts")).json()
    session = next(s for s in exported["sessions"] if s["id"] == who.id)
    assert [n["body"] for n in session["researcher_notes"]] == ["Talkative, trusting"]
    answer = next(m for m in session["messages"] if m["id"] == message_id)
    assert [n["kind"] for n in answer["researcher_notes"]] == ["note", "bookmark"]
    assert all(m["researcher_notes"] == [] for m in session["messages"] if m is not answer)
    as_csv = await client.get(
        f"/v1/interviews/{interview_id}/transcripts", params={"format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    noted = [r["researcher_notes"] for r in rows if r["session_id"] == who.id]
    assert "Researcher note: Sprint **planning** story\nResearcher bookmark" in noted
    assert sum(1 for n in noted if n) == 1, "on the answer's row only"

    services = server.app.state.services
    await transcript_pdf.ensure(
        services.db, services.blobs, who.id, services.settings.pdf_font_dirs
    )
    drawn = await client.get(f"/v1/sessions/{who.id}/pdf")
    assert drawn.status_code == 200, drawn.text
    pdf = await pdftotext(drawn.content)
    assert "Researcher note: Sprint **planning** story" in pdf and "Talkative, trusting" in pdf
