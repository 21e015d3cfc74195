"""Retention: an interview's `retention_days` erases its finished sessions that ended longer
ago than that, through the same erasure as DELETE /v1/sessions/{id}; never a live one."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import converse, next_turn, published_interview, sse_events, start_session
from tests.traces import sql_rows
from workers import sweeper

s = schema.sessions


async def _age(db: Database, session_id: str, days: float, *, ended: bool) -> None:
    """Move the session's timestamps `days` into the past (as if it had run back then)."""
    then = utcnow() - timedelta(days=days)
    values = {"created_at": then}
    if ended:
        values.update(completed_at=then, last_activity_at=then)
    # (A live one keeps its last activity: the idle check would abandon it, rightly.)
    async with db.begin() as conn:
        await conn.execute(update(s).where(s.c.id == session_id).values(**values))


async def test_old_finished_sessions_are_erased_recent_and_live_ones_kept(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    services = server.app.state.services
    mark = uuid.uuid4().hex
    interview = await published_interview(client, retention_days=30)
    assert interview["retention_days"] == 30
    share = interview["share_token"]
    old = await converse(anon, share, [f"old answer {mark}"], name=f"Old {mark}")
    abandoned = await converse(anon, share, ["abandoned answer"])
    recent = await converse(anon, share, ["recent answer"])
    live = await start_session(anon, share)
    await next_turn(sse_events(anon, live.session["events_url"]))
    kept_elsewhere = await published_interview(client)  # no retention: kept for ever
    forever = await converse(anon, kept_elsewhere["share_token"], ["kept"])
    await _age(services.db, old.id, 31, ended=True)
    await _age(services.db, abandoned.id, 45, ended=True)
    async with services.db.begin() as conn:
        await conn.execute(update(s).where(s.c.id == abandoned.id).values(status="abandoned"))
    await _age(services.db, recent.id, 29, ended=True)
    await _age(services.db, live.id, 90, ended=False)  # started long ago, still going
    await _age(services.db, forever.id, 3650, ended=True)

    await sweeper.retention_pass(services)

    for gone in (old, abandoned):
        assert (await client.get(f"/v1/sessions/{gone.id}")).status_code == 404
    for kept in (recent, live, forever):
        assert (await client.get(f"/v1/sessions/{kept.id}")).status_code == 200
    assert await sql_rows(services.db, (old.id, f"Old {mark}", f"old answer {mark}")) == []
    counts = (await client.get(f"/v1/interviews/{interview['id']}")).json()["session_counts"]
    assert counts == {"total": 2, "in_progress": 1, "completed": 1, "abandoned": 0}
    await sweeper.retention_pass(services)  # again: nothing more to do, nothing fails
    assert (await client.get(f"/v1/sessions/{recent.id}")).status_code == 200


async def test_retention_days_is_validated_and_needs_sessions_delete(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    made = await client.post("/v1/interviews", json={"title": "Kept", "retention_days": None})
    assert made.status_code == 201 and made.json()["retention_days"] is None
    url = f"/v1/interviews/{made.json()['id']}"
    for bad in (0, 3651, "30", 1.5):
        refused = await client.patch(url, json={"retention_days": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["field"] == "retention_days"
    assert (await client.patch(url, json={"retention_days": 3650})).json()["retention_days"] == 3650
    # Retention erases data: a key that may edit interviews but not erase sessions cannot set it.
    scopes = tuple(x for x in keys.ALL_SCOPES if x != keys.SESSIONS_DELETE)
    narrow_key = await new_key(server.app.state.services.db, scopes=scopes)
    narrow = {"authorization": f"Bearer {narrow_key}"}
    body = {"title": "x", "retention_days": 7}
    other = await anon.post("/v1/interviews", json=body, headers=narrow)
    assert other.status_code == 403 and keys.SESSIONS_DELETE in other.text
    # A closed interview takes no edits, except its retention.
    interview = await published_interview(client)
    closed = f"/v1/interviews/{interview['id']}"
    assert (await client.post(f"{closed}/close")).status_code == 200
    assert (await client.patch(closed, json={"retention_days": 7})).json()["retention_days"] == 7
    assert (await client.patch(closed, json={"title": "Later"})).status_code == 409
    reopened = await client.patch(closed, json={"retention_days": None})
    assert reopened.json()["retention_days"] is None
    copied = await client.post(f"{url}/duplicate")
    assert copied.json()["retention_days"] == 3650
