"""Erasure against whatever is running at that moment: an export job, a webhook delivery, a
PDF render, a kept idempotency answer, and a process dying half-way through."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select

from runtime.access import keys
from runtime.erasure import erase as erasure
from runtime.exports import members as export_members
from runtime.exports import records as exports
from runtime.exports.source import Source
from runtime.live.events import RespondentMessage, SessionCompleted
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.services import Services
from runtime.stores import redis_keys, schema
from runtime.transcripts.artifacts import save_or_discard
from runtime.webhooks.delivery import attempt, claim
from tests.conftest import Server
from tests.helpers import converse, published_interview
from tests.receiver import receiver
from tests.traces import blob_keys, redis_entries, sql_rows
from workers.pdfs import render_pdf


async def _erased(server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient) -> str:
    """A finished session, erased; returns its id."""
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], ["an answer"])
    await erasure.erase(server.app.state.services, who.id, erased_by="api_key")
    return who.id


async def _workspace(services: Services, api_key: str) -> str:
    return (await keys.authenticate(services.db, api_key)).workspace_id


async def test_an_export_being_written_is_listed_or_leaves_the_session_out(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    services = server.app.state.services
    interview = await published_interview(client)
    first = await converse(anon, interview["share_token"], ["first"])
    second = await converse(anon, interview["share_token"], ["second"])
    row = await exports.create(
        services.db, await _workspace(services, api_key), {"interview_id": interview["id"]}
    )
    export_id = row["id"]
    source = Source(
        services.db,
        exports.selection(row),
        page_size=1,
        cutoff=utcnow(),
        admit=lambda ids: export_members.record(services.db, export_id, ids),
    )
    pages = source.pages()
    # The job (its `admit` as workers/exports.py sets it) has read the first session, one a
    # page, and is writing it when it is erased.
    assert [e.id for e in await anext(pages)] == [first.id]
    receipt = await erasure.erase(services, first.id, erased_by="api_key")
    assert receipt.exports_containing == [export_id]
    # The second is erased before the job reaches it: it never enters the export.
    await erasure.erase(services, second.id, erased_by="api_key")
    assert [page async for page in pages] == []
    async with services.db.connect() as conn:
        left = await conn.execute(
            select(schema.export_sessions).where(schema.export_sessions.c.export_id == export_id)
        )
        assert left.all() == []  # what it recorded went with the sessions


async def test_an_export_from_before_recording_is_judged_by_its_selection(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    services = server.app.state.services
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], ["kept in an old ZIP"])
    workspace_id = await _workspace(services, api_key)
    old = await exports.create(services.db, workspace_id, {"interview_id": interview["id"]})
    other = await exports.create(
        services.db, workspace_id, {"interview_id": interview["id"], "statuses": ["abandoned"]}
    )
    for made in (old, other):  # as an export written before migration 0005 left them
        await exports.succeeded(services.db, made["id"], f"exports/{made['id']}.zip", 10, 1, 0, 0)
    async with services.db.begin() as conn:
        await conn.execute(delete(schema.export_sessions))
    receipt = await erasure.erase(services, who.id, erased_by="api_key")
    assert old["id"] in receipt.exports_containing
    assert other["id"] not in receipt.exports_containing  # its selection never covered it


async def test_a_delivery_being_sent_when_its_session_is_erased_stays_failed(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    async with receiver() as hook:
        made = await client.post(
            "/v1/webhooks", json={"url": hook.url, "events": ["session.completed"]}
        )
        webhook_id = made.json()["id"]
        interview = await published_interview(client)
        who = await converse(anon, interview["share_token"], ["an answer"])
        d = schema.webhook_deliveries
        async with services.db.connect() as conn:
            delivery_id = await conn.scalar(
                select(d.c.id).where(d.c.webhook_id == webhook_id, d.c.session_id == who.id)
            )
        now = utcnow()
        assert await claim(services.db, delivery_id, now)
        hook.stall_seconds = 1.0  # the receiver is slow to answer: the POST is in flight
        sending = asyncio.create_task(
            attempt(services.db, services.webhooks, services.settings.secret_key, delivery_id, now)
        )
        await hook.next()
        await erasure.erase(services, who.id, erased_by="api_key")
        outcome = await sending
        assert outcome is not None and outcome.ok
        log = (await client.get(f"/v1/webhooks/{webhook_id}/deliveries")).json()["items"]
        shown = next(x for x in log if x["id"] == delivery_id)
        # Its 200 came after the erasure: the delivery stays failed, redacted, never retried.
        assert shown["status"] == "failed" and shown["payload"]["data"] == {"redacted": True}
        assert shown["last_error"] == "not sent: the session was erased"
        assert (
            await attempt(
                services.db, services.webhooks, services.settings.secret_key, delivery_id, now
            )
            is None
        )


async def test_a_pdf_or_audio_written_after_the_erasure_is_not_kept(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    # A render that had begun: its file lands after the erasure looked for the session's.
    session_id = await _erased(server, client, anon)
    key = f"pdf/{session_id}/late.pdf"
    await services.blobs.put(key, b"%PDF-late", "application/pdf")
    with pytest.raises(NotFound):
        await save_or_discard(services.db, services.blobs, session_id, "pdf", key, "x", 9)
    assert await services.blobs.info(key) is None
    # The PDF job queued for it ends cleanly, rendering nothing.
    done = await render_pdf({"services": services}, session_id=session_id)  # type: ignore[typeddict-item]
    assert done == {"session_id": session_id, "erased": True}
    assert [k for k in await blob_keys(services.blobs) if session_id in k] == []


async def test_an_answer_kept_after_the_erasure_is_not_kept(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    session_id = await _erased(server, client, anon)
    # The request was running when the session was erased; its answer comes after.
    store, key = services.idempotency, uuid.uuid4().hex
    await store.claim("owner", key, "fp")
    await store.finish("owner", key, "fp", 200, [], b'{"session_id": "x"}', session_id)
    assert await store.claim("owner", key, "fp") is None  # nothing was kept
    assert not await services.redis.exists(redis_keys.session_idempotency(session_id))


async def test_an_erasure_cut_off_after_its_sql_part_is_finished_by_the_sweeper(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    mark = uuid.uuid4().hex
    interview = await published_interview(client)
    who = await converse(anon, interview["share_token"], [f"answer {mark}"])
    await services.blobs.put(f"audio/{who.id}.wav", b"recording", "audio/wav")
    # The process dies right after the SQL transaction committed.
    async with services.db.begin() as conn:
        await erasure._forget_in_sql(conn, who.id, None, "api_key", utcnow())
    assert (await client.get(f"/v1/sessions/{who.id}")).status_code == 404
    assert await services.blobs.info(f"audio/{who.id}.wav") is not None
    assert await services.redis.exists(redis_keys.events(who.id))

    await erasure.finish_unfinished(services)  # too young to touch: it may still be running
    assert await services.blobs.info(f"audio/{who.id}.wav") is not None
    later = utcnow() + erasure.UNFINISHED_AFTER + timedelta(seconds=1)
    assert await erasure.finish_unfinished(services, later) >= 1

    assert await services.blobs.info(f"audio/{who.id}.wav") is None
    assert await sql_rows(services.db, (who.id, f"answer {mark}")) == []  # the journal too
    found = await redis_entries(services.redis, (who.id,))
    # The interview's live feed keeps only the session's `session.deleted`, as its log does.
    feed = redis_keys.interview_feed(interview["id"])
    assert {f.where for f in found} == {redis_keys.erased(who.id), redis_keys.events(who.id), feed}
    assert not await redis_entries(services.redis, (f"answer {mark}",))


async def test_nothing_appends_to_an_erased_sessions_log(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    session_id = await _erased(server, client, anon)
    # A writer that read the session before it went (a message, an end, an abandonment).
    late = RespondentMessage("msg_late", "something personal", "c-late")
    with pytest.raises(NotFound):
        await services.events.append(session_id, late)
    with pytest.raises(NotFound):
        await services.events.announce_end(session_id, SessionCompleted("ended_by_respondent"))
    logged = await services.events.all(session_id)
    assert [e.type for e in logged] == ["session.deleted"]
