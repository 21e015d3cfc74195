"""Generating interviewer turns under a lease, so exactly one process finishes each turn."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import structlog
from redis.asyncio import Redis
from sqlalchemy import select

from runtime import interviews, redis_keys, schema, sessions
from runtime.clock import utcnow
from runtime.database import Database
from runtime.engines.base import Decision, Engine, TranscriptEntry, TurnContext
from runtime.eventlog import EventLog, LeaseLost
from runtime.events import SessionCompleted, TurnCompleted, TurnDelta, TurnStarted

log = structlog.get_logger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class TurnRunner:
    """Owns every turn task started in this process and cancels them on close."""

    def __init__(
        self,
        db: Database,
        redis: Redis,
        events: EventLog,
        engines: dict[str, Engine],
        lease_ms: int,
    ) -> None:
        self._db = db
        self._redis = redis
        self._events = events
        self._engines = engines
        self._lease_ms = lease_ms
        self._tasks: set[asyncio.Task[None]] = set()
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def owe(self, session_id: str) -> None:
        """Record that a turn is owed (so the sweeper finds it if we die), then start it here."""
        await self._redis.zadd(redis_keys.PENDING_TURNS, {session_id: time.time() * 1000})
        self.spawn(session_id)

    def spawn(self, session_id: str) -> None:
        task = asyncio.create_task(self.run(session_id), name=f"turn:{session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def owes(self, session_id: str) -> bool:
        """Whether a turn of this session is owed (being written, or waiting for recovery)."""
        return await self._redis.zscore(redis_keys.PENDING_TURNS, session_id) is not None

    async def drain(self) -> None:
        """Wait for the turns this process is writing to finish."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def close(self, grace: float = 5.0) -> None:
        # Let turns in flight finish (a rolling deploy should not cut sentences); past the
        # grace period, cancel them: their leases lapse and another process finishes them.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.drain()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover_orphans(self, older_than_ms: int) -> int:
        """Start every owed turn whose lease nobody holds; returns how many were started."""
        cutoff = time.time() * 1000 - older_than_ms
        owed = await self._redis.zrangebyscore(redis_keys.PENDING_TURNS, "-inf", cutoff)
        started = 0
        for raw in owed:
            session_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if not await self._redis.exists(redis_keys.lease(session_id)):
                self.spawn(session_id)
                started += 1
        return started

    async def run(self, session_id: str) -> None:
        token = uuid.uuid4().hex
        lease_key = redis_keys.lease(session_id)
        if not await self._redis.set(lease_key, token, nx=True, px=self._lease_ms):
            return  # another process is generating this turn
        renewer = asyncio.create_task(self._keep_lease(lease_key, token))
        try:
            await self._generate(session_id, token)
        except LeaseLost:
            log.warning("turn.lease_lost", session_id=session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease lapses and the sweeper retries; the turn is still owed.
            log.exception("turn.failed", session_id=session_id)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            with contextlib.suppress(Exception):
                await self._release(keys=[lease_key], args=[token])

    async def _keep_lease(self, lease_key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            if not await self._renew(keys=[lease_key], args=[token, self._lease_ms]):
                return

    async def _generate(self, session_id: str, fence: str) -> None:
        async with self._db.connect() as conn:
            session = await sessions.row(conn, session_id)
            seq = session.turn_seq
            turn_id = f"t{seq}"
            committed = await sessions.committed_turn(conn, session_id, turn_id)
            if session.awaiting != "interviewer" and committed is None:
                await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)
                return
            interview = (
                await conn.execute(
                    select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
                )
            ).first()
            assert interview is not None
            guide = await interviews.frozen_guide(conn, session.interview_id, session.guide_version)
            history = await sessions.messages(conn, session_id)

        # What earlier attempts at this turn already put in the log, so none of it repeats.
        started = completed = False
        said = ""
        for event in await self._events.all(session_id):
            if event.data.get("turn_id") != turn_id:
                continue
            if event.type == TurnStarted.type:
                started = True
            elif event.type == TurnDelta.type:
                said += event.data["text"]
            elif event.type == TurnCompleted.type:
                completed = True

        if committed is None:
            engine = self._engines.get(interview.engine) or self._engines["scripted"]
            ctx = TurnContext(
                interview=dict(interview._mapping),
                guide=guide,
                state=session.state or {},
                seq=seq,
                transcript=[TranscriptEntry(r.role, r.content, r.item_id) for r in history],
                started_at=session.created_at,
                now=utcnow(),
            )
            content, decision = await self._stream(
                session_id, turn_id, engine, ctx, said, started, fence
            )
            started = True
            said = content if len(content) >= len(said) else said
            await sessions.commit_turn(
                self._db,
                session_id,
                seq,
                content,
                decision.item_id,
                decision.state,
                decision.completes,
            )
        # Finish from what is stored: that is what the transcript says, even if another
        # writer committed first.
        async with self._db.connect() as conn:
            stored = await sessions.committed_turn(conn, session_id, turn_id)
        if stored is None:
            raise RuntimeError(f"turn {turn_id} of {session_id} was not stored")
        if not started:
            await self._events.append(session_id, TurnStarted(turn_id, stored.item_id), fence)
        if not completed:
            if stored.content.startswith(said) and len(stored.content) > len(said):
                tail = stored.content[len(said) :]
                await self._events.append(session_id, TurnDelta(turn_id, tail), fence)
            await self._events.append(
                session_id, TurnCompleted(turn_id, stored.content, stored.item_id), fence
            )
        await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)
        # Read after the turn left the owed set: either this sees an end that was requested
        # during the turn, or the requester sees no turn owed and announces it itself.
        session = await sessions.load(self._db, session_id)
        if session.status == "completed":
            reason = session.ended_reason or "finished"
            await self._events.announce_end(session_id, SessionCompleted(reason), fence)

    async def _stream(
        self,
        session_id: str,
        turn_id: str,
        engine: Engine,
        ctx: TurnContext,
        said: str,
        started: bool,
        fence: str,
    ) -> tuple[str, Decision]:
        content = ""
        decision: Decision | None = None
        async for output in engine.respond(ctx):
            if isinstance(output, Decision):
                decision = output
                continue
            if not started:
                item_id = decision.item_id if decision else None
                await self._events.append(session_id, TurnStarted(turn_id, item_id), fence)
                started = True
            before = len(content)
            content += output.text
            # Skip what a previous attempt already streamed; send only the new tail.
            fresh = content[max(before, len(said)) :] if len(content) > len(said) else ""
            if fresh:
                await self._events.append(session_id, TurnDelta(turn_id, fresh), fence)
        if decision is None:
            raise RuntimeError("engine finished without a decision")
        if not started:
            await self._events.append(session_id, TurnStarted(turn_id, decision.item_id), fence)
        return content, decision
