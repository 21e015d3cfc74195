"""DELETE /v1/sessions/{id}: a session erased everywhere — SQL, Redis, the blob store (local
and a real Ceph RGW) — with the exports that hold it listed, by a researcher or by the
respondent; open streams end, and nothing personal stays in webhook deliveries."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import structlog
import websockets

from runtime.access import keys
from runtime.platform.settings import Settings
from runtime.stores import redis_keys
from runtime.transcripts import pdf_files as transcript_pdf
from runtime.webhooks.endpoints import EVENTS
from tests.conftest import Server, new_key, running, s3_settings
from tests.helpers import (
    audio_bytes,
    converse,
    next_turn,
    published_interview,
    sse_events,
    start_session,
)
from tests.receiver import Receiver, receiver
from tests.traces import blob_keys, redis_entries, sql_rows
from workers import exports as export_jobs
from workers import webhooks as delivery

SESSION_EVENTS = [e for e in EVENTS if e.startswith("session.")]
assert SESSION_EVENTS[-1] == "session.deleted"


@pytest.fixture(params=["local", "rgw"])
async def stack(request: pytest.FixtureRequest, server: Server, settings: Settings) -> Any:
    """The API on the local blob store, and again on a real Ceph RGW bucket."""
    if request.param == "local":
        yield server
        return
    on_s3 = s3_settings(settings, request.getfixturevalue("rgw"), "erasure")
    async with running(on_s3) as started:
        yield started


@dataclass
class Erasable:
    """A session with everything a session can leave behind."""

    session_id: str
    interview_id: str
    export_id: str
    token: str
    needles: tuple[str, ...]  # what is personal in it: none of it may remain


@pytest.fixture
async def researcher(stack: Server) -> AsyncIterator[httpx.AsyncClient]:
    auth = {"authorization": f"Bearer {await new_key(stack.app.state.services.db)}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=auth, timeout=20) as http:
        yield http


@pytest.fixture
async def public(stack: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=20) as http:
        yield http


@pytest.fixture
async def hook(researcher: httpx.AsyncClient) -> AsyncIterator[Receiver]:
    async with receiver() as got:
        made = await researcher.post("/v1/webhooks", json={"url": got.url, "events": EVENTS})
        assert made.status_code == 201, made.text
        yield got


async def _everything(
    stack: Server, researcher: httpx.AsyncClient, public: httpx.AsyncClient
) -> Erasable:
    services = stack.app.state.services
    mark = uuid.uuid4().hex
    name, email, answer = f"Erin {mark}", f"erin-{mark}@example.com", f"My answer {mark}"
    interview = await published_interview(researcher, title=f"Erasure {mark}")
    who = await converse(public, interview["share_token"], [answer], name=name, email=email)
    sid = who.id
    token = who.session["session_token"]
    put = await researcher.put(f"/v1/sessions/{sid}/audio", content=await audio_bytes("wav"))
    assert put.status_code == 201, put.text
    await transcript_pdf.ensure(services.db, services.blobs, sid, services.settings.pdf_font_dirs)
    # The transcript files (txt, md) are cached in the blob store as /files lists them.
    files = await researcher.get(f"/v1/sessions/{sid}/files")
    assert {f["kind"] for f in files.json()["items"]} == {"transcript", "pdf", "audio"}
    # A retried resume: its stored answer (the whole conversation) sits in Redis.
    resume = {"session_token": token}
    again = await public.post(
        f"/v1/public/interviews/{interview['share_token']}/sessions",
        json=resume,
        headers={"idempotency-key": f"resume-{mark}"},
    )
    assert again.status_code == 200 and answer in again.text
    asked = await researcher.post(
        "/v1/exports", json={"interview_id": interview["id"], "include_pdf": True}
    )
    export_id = asked.json()["id"]
    await export_jobs.run_export({"services": services}, export_id=export_id)
    assert (await researcher.get(f"/v1/exports/{export_id}")).json()["status"] == "succeeded"
    await delivery.deliver_once(services)
    return Erasable(sid, interview["id"], export_id, token, (sid, name, email, answer, token))


async def _left_in_redis(stack: Server, erasable: Erasable) -> list[str]:
    """Redis keys that still mention the session, apart from what erasure leaves on purpose:
    the `erased` marker and a log holding only `session.deleted`, neither personal."""
    services = stack.app.state.services
    sid = erasable.session_id
    found = await redis_entries(services.redis, erasable.needles)
    for entry in found:
        assert not any(n in entry.text for n in erasable.needles[1:]), entry
    feed = redis_keys.interview_feed(erasable.interview_id)
    expected = {redis_keys.erased(sid), redis_keys.events(sid), feed}
    tombstone = await services.redis.xrange(redis_keys.events(sid))
    assert [fields[b"type"] for _, fields in tombstone] == [b"session.deleted"]
    assert await _in_feed(services.redis, feed, sid) == [b"session.deleted"]
    return sorted({e.where for e in found} - expected)


async def _in_feed(redis: Any, feed: str, session_id: str) -> list[bytes]:
    """The types of the session's entries in its interview's live feed."""
    entries = await redis.xrange(feed)
    return [f[b"type"] for _, f in entries if f[b"session"] == session_id.encode()]


async def test_api_key_erases_a_session_everywhere(
    stack: Server, researcher: httpx.AsyncClient, public: httpx.AsyncClient, hook: Receiver
) -> None:
    services = stack.app.state.services
    erasable = await _everything(stack, researcher, public)
    sid = erasable.session_id
    before = {f.where for f in await sql_rows(services.db, erasable.needles)}
    # (export_sessions: the export job recorded that its ZIP holds the session.)
    assert {"sessions", "messages", "artifacts", "export_sessions"} <= before
    assert [k for k in await blob_keys(services.blobs) if sid in k]

    erased = await researcher.delete(f"/v1/sessions/{sid}")

    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["session_id"] == sid and receipt["interview_id"] == erasable.interview_id
    assert receipt["exports_containing"] == [erasable.export_id]
    counts = receipt["erased"]
    assert counts["messages"] >= 3
    assert counts["files"] == 4  # the audio, the PDF, the transcript as txt and md
    assert counts["webhook_deliveries"] >= 2  # session.started, session.completed
    assert counts["idempotency_records"] == 1
    # Only the session.deleted delivery names the session, and it carries ids alone.
    left = await sql_rows(services.db, erasable.needles)
    assert {f.where for f in left} == {"webhook_deliveries"}, left
    for row in left:
        assert '"event_type": "session.deleted"' in row.text
        assert not any(n in row.text for n in erasable.needles[1:])
    assert await _left_in_redis(stack, erasable) == []
    assert [k for k in await blob_keys(services.blobs) if sid in k] == []
    # The export's ZIP cannot be edited: it stays, and the receipt named it.
    assert f"exports/{erasable.export_id}.zip" in await blob_keys(services.blobs)
    for path in ("", "/transcript", "/files", "/pdf", "/events"):
        gone = await researcher.get(f"/v1/sessions/{sid}{path}")
        assert gone.status_code == 404, (path, gone.text)
    again = await researcher.delete(f"/v1/sessions/{sid}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"

    # The deliveries sent before carry nothing personal now, and session.deleted follows.
    hooks = (await researcher.get("/v1/webhooks")).json()["items"]
    log = (await researcher.get(f"/v1/webhooks/{hooks[0]['id']}/deliveries")).json()["items"]
    earlier = [d for d in log if d["event_type"] in SESSION_EVENTS[:-1]]
    assert earlier and all(d["payload"]["data"] == {"redacted": True} for d in earlier)
    hook.received.clear()
    await delivery.deliver_once(services)
    deleted = [json.loads(r.body) for r in hook.received]
    assert [d["type"] for d in deleted] == ["session.deleted"]
    assert deleted[0]["data"] == {
        "session_id": sid,
        "interview_id": erasable.interview_id,
        "erased_by": "api_key",
    }


async def test_respondent_erases_their_own_session(
    stack: Server, researcher: httpx.AsyncClient, public: httpx.AsyncClient, hook: Receiver
) -> None:
    services = stack.app.state.services
    erasable = await _everything(stack, researcher, public)
    sid = erasable.session_id
    other = await start_session(
        public, (await published_interview(researcher))["share_token"], name="Other"
    )
    url = f"/v1/sessions/{sid}"
    refused = await public.delete(url, headers=other.auth)
    assert refused.status_code == 401, refused.text
    assert (await public.delete(url)).status_code == 401
    assert (await researcher.get(url)).status_code == 200  # still there
    # (Ended: left waiting, a later idle sweep would queue its webhook to a closed receiver.)
    assert (
        await public.post(f"/v1/sessions/{other.id}/end", headers=other.auth)
    ).status_code == 200

    own = {"authorization": f"Bearer {erasable.token}", "origin": "https://embed.example"}
    erased = await public.delete(url, headers=own)

    assert erased.status_code == 204, erased.text
    assert erased.content == b""
    assert erased.headers["access-control-allow-origin"] in ("*", "https://embed.example")
    left = await sql_rows(services.db, erasable.needles)
    assert {f.where for f in left} == {"webhook_deliveries"}, left
    assert await _left_in_redis(stack, erasable) == []
    assert [k for k in await blob_keys(services.blobs) if sid in k] == []
    assert (await researcher.get(url)).status_code == 404
    # The token died with its session.
    assert (await public.delete(url, headers=own)).status_code == 401
    said = await public.post(
        f"{url}/messages", json={"content": "hi", "client_message_id": "late"}, headers=own
    )
    assert said.status_code in (401, 404)
    hook.received.clear()
    await delivery.deliver_once(services)
    deleted = [json.loads(r.body)["data"] for r in hook.received]
    expected = {"session_id": sid, "interview_id": erasable.interview_id, "erased_by": "respondent"}
    assert expected in deleted


async def test_a_preflight_allows_delete_from_an_embedding_site(
    anon: httpx.AsyncClient,
) -> None:
    preflight = await anon.options(
        "/v1/sessions/ses_x",
        headers={
            "origin": "https://embed.example",
            "access-control-request-method": "DELETE",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert "DELETE" in preflight.headers["access-control-allow-methods"]


async def test_refusals(server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"], name="Nel")
    url = f"/v1/sessions/{who.id}"
    db = server.app.state.services.db
    stranger = {"authorization": f"Bearer {await new_key(db)}"}
    assert (await anon.delete(url, headers=stranger)).status_code == 404
    # A key in another workspace is refused as if the session did not exist (above); one
    # of this workspace without sessions:delete (sessions:write is not enough) gets 403.
    narrow_scopes = tuple(s for s in keys.ALL_SCOPES if s != keys.SESSIONS_DELETE)
    narrow = {"authorization": f"Bearer {await new_key(db, scopes=narrow_scopes)}"}
    forbidden = await anon.delete(url, headers=narrow)
    assert forbidden.status_code == 403
    assert keys.SESSIONS_DELETE in forbidden.json()["error"]["message"]
    assert (await client.delete("/v1/sessions/ses_nope")).status_code == 404
    assert (await client.get(url)).status_code == 200


async def test_open_streams_end_when_the_session_is_erased(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"], name="Streamer")
    sse = sse_events(anon, who.session["events_url"])
    await next_turn(sse)
    assert (await anext(sse)).event == "coverage.updated"  # the turn's last event
    async with websockets.connect(who.session["ws_url"]) as ws:
        while json.loads(await ws.recv()).get("event") != "coverage.updated":
            pass

        erased = await client.delete(f"/v1/sessions/{who.id}")
        assert erased.status_code == 200, erased.text

        # Both streams get session.deleted, and both end after it.
        after = [e.event async for e in sse]
        assert after == ["session.deleted"]
        frame = json.loads(await ws.recv())
        assert frame["event"] == "session.deleted"
        assert frame["data"] == {"session_id": who.id}
        with pytest.raises(websockets.ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1000
    gone = await anon.get(who.session["events_url"])
    assert gone.status_code == 404
    async with websockets.connect(who.session["ws_url"]) as late:
        with pytest.raises(websockets.ConnectionClosed):
            await late.recv()
        assert late.close_code == 4404


async def test_a_turn_being_written_does_not_bring_the_session_back(settings: Settings) -> None:
    # A slow interviewer (100 ms a piece): its welcome turn is still being written when the
    # session is erased. Its next append is refused, its runner stops, nothing is owed.
    slow = dataclasses.replace(settings, scripted_delta_delay_ms=100)
    async with running(slow) as node:
        services = node.app.state.services
        key = {"authorization": f"Bearer {await new_key(services.db)}"}
        async with httpx.AsyncClient(base_url=node.url, timeout=20) as http:
            async with httpx.AsyncClient(base_url=node.url, headers=key, timeout=20) as mine:
                interview = await published_interview(mine)
            mark = uuid.uuid4().hex
            who = await start_session(http, interview["share_token"], name=f"Mid {mark}")
            events = sse_events(http, who.session["events_url"])
            async for event in events:
                if event.event == "turn.delta":
                    break
            assert await services.leases.owes(who.id)

            with structlog.testing.capture_logs() as logs:
                erased = await http.delete(f"/v1/sessions/{who.id}", headers=key)
                assert erased.status_code == 200, erased.text
                tail = [e.event async for e in events]
                await services.turns.drain()
        assert tail[-1] == "session.deleted" and "turn.completed" not in tail
        # The turn's task ended quietly: no failure logged, no retry owed.
        seen = [entry["event"] for entry in logs]
        assert "turn.session_erased" in seen and "turn.failed" not in seen, seen
        assert await services.turns.recover_orphans(0) == 0  # nothing is owed any more
        needles = (who.id, f"Mid {mark}")
        assert await sql_rows(services.db, needles) == []
        found = await redis_entries(services.redis, needles)
        feed = redis_keys.interview_feed(interview["id"])
        assert {f.where for f in found} == {
            redis_keys.erased(who.id),
            redis_keys.events(who.id),
            feed,
        }
        assert await _in_feed(services.redis, feed, who.id) == [b"session.deleted"]
        tombstone = await services.redis.xrange(redis_keys.events(who.id))
        assert [fields[b"type"] for _, fields in tombstone] == [b"session.deleted"]


async def test_deleting_a_draft_erases_its_previews_everywhere(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    mark = uuid.uuid4().hex
    draft = (await client.post("/v1/interviews", json={"title": "Draft"})).json()
    await client.post(f"/v1/interviews/{draft['id']}/sections", json={"title": "Main"})
    await client.post(f"/v1/interviews/{draft['id']}/sections/S1/questions", json={"text": "Why?"})
    started = await client.post(
        f"/v1/interviews/{draft['id']}/preview-sessions", json={"name": f"Tester {mark}"}
    )
    preview = started.json()
    sid = preview["session_id"]
    await next_turn(sse_events(anon, preview["events_url"]))
    put = await client.put(f"/v1/sessions/{sid}/audio", content=await audio_bytes("wav"))
    assert put.status_code == 201, put.text

    deleted = await client.delete(f"/v1/interviews/{draft['id']}")

    assert deleted.status_code == 204, deleted.text
    needles = (sid, f"Tester {mark}")
    assert await sql_rows(services.db, needles) == []
    assert [k for k in await blob_keys(services.blobs) if sid in k] == []
    found = await redis_entries(services.redis, needles)
    assert {f.where for f in found} == {redis_keys.erased(sid), redis_keys.events(sid)}
