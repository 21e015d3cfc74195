"""Turns that only SQL remembers: run once by one of many sweepers, and never retried for ever."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import text

from runtime.engines.base import Engine
from runtime.engines.scripted import ScriptedEngine
from runtime.languages.phrases import for_language
from runtime.live.lease import RedisLeases
from runtime.live.redis_log import RedisEventLog
from runtime.live.turns import TurnRunner
from runtime.platform.clock import utcnow
from runtime.sessions import store as sessions
from runtime.sessions import sweeps as session_sweeps
from runtime.stores import redis_keys
from runtime.stores.database import Database
from tests.helpers import published_interview
from tests.runtime.conftest import Quiet
from tests.runtime.live.test_turn_attempts import Broken

APOLOGY = for_language("en").apology()


async def _forgotten(quiet: Quiet, **fields: str) -> str:
    """A session whose welcome turn is owed in SQL and unknown to Redis."""
    interview = await published_interview(quiet.client, **fields)
    return str((await sessions.start(quiet.db, interview["share_token"], {})).row["id"])


async def _forget(redis: Redis, session_id: str) -> None:
    """Redis loses everything it knew of the session (as a restart without persistence)."""
    await redis.zrem(redis_keys.PENDING_TURNS, session_id)
    attempts = [redis_keys.turn_attempts(session_id, "t1")]
    await redis.delete(redis_keys.events(session_id), redis_keys.lease(session_id), *attempts)


async def test_many_sweepers_recover_a_forgotten_turn_once(quiet: Quiet) -> None:
    db, redis = quiet.db, quiet.redis
    session_id = await _forgotten(quiet)
    events = RedisEventLog(redis, 600)
    runners = [
        TurnRunner(db, RedisLeases(redis, 1500), events, {"scripted": ScriptedEngine(5)})
        for _ in range(4)
    ]
    # Every sweeper scans at once; the lease lets exactly one write the turn.
    await asyncio.gather(*(r.recover_lost(older_than_ms=0) for r in runners))
    await asyncio.gather(*(r.drain() for r in runners))
    log = await events.all(session_id)
    started = [e for e in log if e.type == "turn.started"]
    assert [e.data["restart"] for e in started] == [True]
    assert [e.type for e in log].count("turn.completed") == 1
    async with db.connect() as conn:
        stored = await sessions.messages(conn, session_id)
        row = await sessions.row(conn, session_id)
    assert [m.turn_id for m in stored] == ["t1"]
    assert row.awaiting == "respondent" and row.turn_recoveries == 1
    assert not await redis.zscore(redis_keys.PENDING_TURNS, session_id), "no longer owed"
    assert session_id not in [t.session_id for t in await session_sweeps.owed_turns(db, utcnow())]


async def test_a_turn_redis_keeps_forgetting_ends_the_session_politely(quiet: Quiet) -> None:
    # An engine that always fails, and a Redis that forgets each attempt's count: SQL's count
    # of recoveries still ends it (with the apology), instead of a retry for ever.
    db, redis = quiet.db, quiet.redis
    session_id = await _forgotten(quiet, engine="llm")
    events = RedisEventLog(redis, 600)
    engines: dict[str, Engine] = {"llm": Broken(), "scripted": Broken()}
    runner = TurnRunner(db, RedisLeases(redis, 1500), events, engines, max_attempts=2)
    for _ in range(2):
        await runner.recover_lost(older_than_ms=0)
        await runner.drain()
        await _forget(redis, session_id)
    assert await sessions.status(db, session_id) == ("in_progress", None)
    await runner.recover_lost(older_than_ms=0)
    await runner.drain()
    log = await events.all(session_id)
    assert [e.type for e in log][-3:] == ["turn.completed", "coverage.updated", "session.completed"]
    assert log[-3].data["content"] == APOLOGY
    assert await sessions.status(db, session_id) == ("completed", "interviewer_failed")


async def test_the_sweepers_scans_use_an_index(db: Database) -> None:
    before = utcnow() - timedelta(seconds=5)
    scans = {
        "owed": session_sweeps.owed_query(before),
        "idle": session_sweeps.idle_query(before),
    }
    async with db.connect() as conn:
        for name, query in scans.items():
            compiled = query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
            if db.sqlite:
                plan = (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
                detail = " ".join(str(row[-1]) for row in plan)
            else:
                # The test tables are tiny: forbid the sequential scan to see the index is usable.
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                plan = (await conn.execute(text(f"EXPLAIN {compiled}"))).all()
                detail = " ".join(str(row[0]) for row in plan)
            assert "ix_sessions_status_awaiting_activity" in detail, (name, detail)
