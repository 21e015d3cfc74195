"""The async export ZIP with include_synthesis: the latest completed synthesis as JSON, Markdown
and PDF, and the manifest naming it (or saying there is none)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from runtime.access import keys
from runtime.analysis.synthesis import reads
from runtime.platform.json_output import dumps
from runtime.stores import schema
from runtime.stores.database import Database
from tests.api.test_exports import _finished, _zip_members
from tests.api.test_pdf import pdftotext
from tests.conftest import Server, new_key
from tests.runtime.analysis.synthesis import seeding

FILES = ["synthesis/synthesis.json", "synthesis/synthesis.md", "synthesis/synthesis.pdf"]


@pytest.fixture
async def workspace(db: Database) -> str:
    return await keys.ensure_workspace(db, f"ws-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def researcher(
    server: Server, db: Database, workspace: str
) -> AsyncIterator[httpx.AsyncClient]:
    key = await new_key(db, await _name(db, workspace))
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        yield http


async def _name(db: Database, workspace_id: str) -> str:
    w = schema.workspaces
    async with db.connect() as conn:
        return str(await conn.scalar(select(w.c.name).where(w.c.id == workspace_id)))


async def _export(http: httpx.AsyncClient, server: Server, **options: Any) -> dict[str, bytes]:
    return (await _export_with_id(http, server, **options))[1]


async def _export_with_id(
    http: httpx.AsyncClient, server: Server, **options: Any
) -> tuple[str, dict[str, bytes]]:
    created = await http.post("/v1/exports", json=options)
    assert created.status_code == 202, created.text
    export = created.json()
    assert export["options"].get("include_synthesis") is options.get("include_synthesis", False)
    await _finished(server, export["id"])
    done = (await http.get(f"/v1/exports/{export['id']}")).json()
    assert done["status"] == "succeeded", done
    return export["id"], await _zip_members(http, done["url"])


@pytest.mark.usefixtures("job_worker")
async def test_the_zip_holds_the_synthesis_and_the_manifest_names_it(
    researcher: httpx.AsyncClient, server: Server, db: Database, workspace: str
) -> None:
    seeded = await seeding.interview(db, workspace)
    synthesis_id = await seeding.synthesis(db, seeded)
    export_id, members = await _export_with_id(
        researcher, server, interview_id=seeded.interview_id, include_synthesis=True,
        include_audio=False,
    )  # fmt: skip
    assert [name for name in members if name.startswith("synthesis/")] == FILES
    manifest = json.loads(members["manifest.json"])
    assert manifest["synthesis"] == {
        "id": synthesis_id, "generated_at": "2026-11-21T10:30:00Z", "engine": "offline",
        "model": None, "session_count": 5, "files": FILES,
    }  # fmt: skip
    assert sorted(members) == sorted(f["path"] for f in manifest["files"])
    # The JSON is the view as the API shows it; the documents carry its themes and quotes.
    view = await reads.view(db, workspace, synthesis_id)
    assert json.loads(members[FILES[0]]) == json.loads(dumps(view))
    md = members[FILES[1]].decode()
    assert "### 1. Pricing is confusing" in md and "> The pricing page was confusing" in md
    assert "\\<script\\>" in md and "<script>" not in md
    # The sessions it quotes are held by the export: erasing one of them names it.
    es = schema.export_sessions
    async with db.connect() as conn:
        held = set(await conn.scalars(select(es.c.session_id).where(es.c.export_id == export_id)))
    assert set(seeded.sessions[1:]) <= held, held
    text = await pdftotext(members[FILES[2]])
    assert "1. Pricing is confusing" in text and "— Ada · session" in text
    assert "价格页面让我很困惑" in text.replace(" ", "")


@pytest.mark.usefixtures("job_worker")
async def test_anonymised_exports_anonymise_the_synthesis(
    researcher: httpx.AsyncClient, server: Server, db: Database, workspace: str
) -> None:
    seeded = await seeding.interview(db, workspace)
    await seeding.synthesis(db, seeded)
    members = await _export(
        researcher, server, interview_id=seeded.interview_id, include_synthesis=True,
        include_audio=False, anonymize=True,
    )  # fmt: skip
    shown = members[FILES[0]].decode() + members[FILES[1]].decode()
    for name in ("Ada", "李小龙", "سارة", "Mallory"):
        assert name not in shown, name
    participants = {
        q["participant"] for t in json.loads(members[FILES[0]])["themes"] for q in t["quotes"]
    }
    assert participants == {f"Participant {n}" for n in range(2, 7)}


@pytest.mark.usefixtures("job_worker")
async def test_without_the_option_or_without_a_synthesis(
    researcher: httpx.AsyncClient, server: Server, db: Database, workspace: str
) -> None:
    seeded = await seeding.interview(db, workspace)
    # Asked for, but only a running one: the manifest says there is none, and no file.
    await seeding.synthesis(db, seeded, status="running")
    members = await _export(
        researcher, server, interview_id=seeded.interview_id, include_synthesis=True,
        include_audio=False,
    )  # fmt: skip
    assert not [name for name in members if name.startswith("synthesis/")]
    assert json.loads(members["manifest.json"])["synthesis"] is None
    # Not asked for: nothing of it, not even in the manifest.
    await seeding.synthesis(db, seeded)
    members = await _export(
        researcher, server, interview_id=seeded.interview_id, include_audio=False
    )
    assert not [name for name in members if name.startswith("synthesis/")]
    assert "synthesis" not in json.loads(members["manifest.json"])


async def test_the_option_is_validated(researcher: httpx.AsyncClient) -> None:
    bad = await researcher.post("/v1/exports", json={"include_synthesis": "yes"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "include_synthesis"
    workspace_wide = await researcher.post("/v1/exports", json={"include_synthesis": True})
    assert workspace_wide.status_code == 400, workspace_wide.text
    assert workspace_wide.json()["error"]["field"] == "include_synthesis"
