"""GET /v1/sessions/{id}/pdf: rendered by the worker, read back with pdftotext, re-rendered
when the transcript changes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.platform.settings import Settings
from runtime.stores.database import Database
from runtime.transcripts import artifacts
from runtime.transcripts import pdf_files as transcript_pdf
from tests.api.test_openapi import Contract
from tests.conftest import Server, new_key, running
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.runtime.transcripts.test_pdf import only_dejavu
from workers import queue

CJK = "我们每天都用它来计划工作"
ARABIC = "نستخدمه كل يوم"


async def pdftotext(data: bytes) -> str:
    proc = await asyncio.create_subprocess_exec(
        "pdftotext", "-", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate(data)
    assert proc.returncode == 0
    return out.decode()


async def rendered(client: httpx.AsyncClient, server: Server, session_id: str) -> bytes:
    first = await client.get(f"/v1/sessions/{session_id}/pdf")
    assert first.status_code == 202, first.text
    assert first.headers["retry-after"] == "2" and first.json()["status"] == "rendering"
    # The job is keyed by the transcript's fingerprint: wait on it rather than on the clock.
    services = server.app.state.services
    doc = await artifacts.load_transcript(services.db, session_id)
    job = await services.jobs.job(transcript_pdf.job_key(session_id, doc.fingerprint))
    assert job is not None, "a render job was queued"
    await job.refresh(until_complete=60)
    ready = await client.get(f"/v1/sessions/{session_id}/pdf")
    assert ready.status_code == 200, ready.text
    assert ready.headers["content-type"] == "application/pdf"
    assert ready.content.startswith(b"%PDF")
    return ready.content


@pytest.mark.usefixtures("job_worker")
async def test_pdf_renders_scripts_and_follows_the_transcript(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client, title="Étude 研究")
    who = await start_session(anon, interview["share_token"], name="Dana Levi")
    events = sse_events(anon, who.session["events_url"])
    await next_turn(events)
    assert (await who.say(CJK)).status_code == 202
    await next_turn(events)
    text = await pdftotext(await rendered(client, server, who.id))
    assert "Étude 研究" in text and "Dana Levi" in text and CJK in text
    assert "What do you use our app for?" in text
    again = await client.get(f"/v1/sessions/{who.id}/pdf")
    assert again.status_code == 200, "cached while the transcript is unchanged"
    files = (await client.get(f"/v1/sessions/{who.id}/files")).json()["items"]
    assert [f["kind"] for f in files].count("pdf") == 1

    assert (await who.say(ARABIC)).status_code == 202
    await next_turn(events)
    await events.aclose()
    text = await pdftotext(await rendered(client, server, who.id))
    # pdftotext writes right-to-left runs in visual order; the words are all there.
    assert all(word in text for word in ARABIC.split()) and CJK in text


@pytest.mark.usefixtures("job_worker")
async def test_pdf_of_an_anonymous_interview_hides_the_respondent(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client, anonymous=True)
    who = await start_session(anon, interview["share_token"], name="Dana Levi")
    events = sse_events(anon, who.session["events_url"])
    await next_turn(events)
    await events.aclose()
    text = await pdftotext(await rendered(client, server, who.id))
    assert "Dana Levi" not in text and "Onboarding study" in text


async def test_pdf_of_another_workspace_is_404(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    assert (await client.get("/v1/sessions/ses_nope/pdf")).status_code == 404
    assert (await anon.get("/v1/sessions/ses_nope/pdf")).status_code == 401


@contextlib.asynccontextmanager
async def server_with_fonts(
    settings: Settings, db: Database, font_dirs: tuple[Path, ...]
) -> AsyncIterator[tuple[httpx.AsyncClient, Server]]:
    """A server (and its job worker) whose PDFs have only the fonts under `font_dirs`."""
    changed = dataclasses.replace(settings, pdf_font_dirs=font_dirs)
    key = await new_key(db)
    async with running(changed) as started:
        stop = await queue.start_in_process(started.app.state.services)
        try:
            async with httpx.AsyncClient(
                base_url=started.url, headers={"authorization": f"Bearer {key}"}, timeout=20
            ) as http:
                yield http, started
        finally:
            await stop()


async def _one_answer(client: httpx.AsyncClient, server: Server, answer: str) -> str:
    """A session whose respondent said `answer`; its id once the turn after it is done."""
    interview = await published_interview(client)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as anon:
        who = await start_session(anon, interview["share_token"])
        events = sse_events(anon, who.session["events_url"])
        await next_turn(events)
        assert (await who.say(answer)).status_code == 202
        await next_turn(events)
        await events.aclose()
    return who.id


async def test_with_only_dejavu_the_pdf_marks_what_it_cannot_draw(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    async with server_with_fonts(settings, db, only_dejavu(tmp_path)) as (client, server):
        session_id = await _one_answer(client, server, f"Mostly in English, some {CJK}.")
        text = await pdftotext(await rendered(client, server, session_id))
    assert "Mostly in English, some " + "\ufffd" * len(CJK) + "." in text
    assert "could not be drawn with the fonts installed on the server" in text


async def test_with_no_font_at_all_the_pdf_fails_and_says_why(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    async with server_with_fonts(settings, db, (tmp_path,)) as (client, server):
        session_id = await _one_answer(client, server, "We use it every day.")
        first = await client.get(f"/v1/sessions/{session_id}/pdf")
        assert first.status_code == 202
        services = server.app.state.services
        doc = await artifacts.load_transcript(services.db, session_id)
        job = await services.jobs.job(transcript_pdf.job_key(session_id, doc.fingerprint))
        assert job is not None
        await job.refresh(until_complete=60)
        failed = await client.get(f"/v1/sessions/{session_id}/pdf")
        assert failed.status_code == 424, failed.text
        contract = Contract((await client.get("/v1/openapi.json")).json())
        contract.check(failed, "get", "/v1/sessions/{id}/pdf")
        body = failed.json()
        assert body["status"] == "failed" and body["session_id"] == session_id
        assert "no font to draw PDFs with" in body["reason"]
        assert "apt-get install fonts-noto-core" in body["reason"]
        # Once failed, it is not queued again at every request, nor by the file listing.
        files = (await client.get(f"/v1/sessions/{session_id}/files")).json()["items"]
        assert "pdf" not in [f["kind"] for f in files]
        assert (await client.get(f"/v1/sessions/{session_id}/pdf")).status_code == 424
        again = await services.jobs.job(transcript_pdf.job_key(session_id, doc.fingerprint))
        assert again is not None and again.completed == job.completed and again.attempts == 1
