"""Generating interviewer turns under a lease, so exactly one process finishes each turn."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.deployment import metrics
from runtime.engines.base import Decision, Engine, TextDelta, TranscriptEntry, TurnContext
from runtime.engines.splice import Splice
from runtime.interviews import service as interviews
from runtime.interviews.guide import Guide
from runtime.live.delta_writer import DeltaWriter
from runtime.live.early_turns import EarlyTurn, KnownSessions
from runtime.live.eventlog import EventLog, LeaseLost
from runtime.live.events import (
    RespondentMessage,
    SessionCompleted,
    SessionStarted,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.sessions import store as sessions
from runtime.stores import redis_keys, schema
from runtime.stores.database import Database

log = structlog.get_logger(__name__)

_GUIDE_CACHE_SIZE = 512
# The last event in the log when a turn has just been owed and nothing of it written yet.
_BEFORE_A_TURN = {SessionStarted.type, RespondentMessage.type}

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
        max_attempts: int = 3,
    ) -> None:
        self._db = db
        self._redis = redis
        self._events = events
        self._engines = engines
        self._lease_ms = lease_ms
        self._max_attempts = max_attempts
        self._tasks: set[asyncio.Task[None]] = set()
        # Per session, the newest turn task here, and for a task the one it follows.
        self._running: dict[str, asyncio.Task[None]] = {}
        self._prior: dict[asyncio.Task[None], asyncio.Task[None]] = {}
        self._guides: dict[tuple[str, int], Guide] = {}
        self._known = KnownSessions()
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def begin_early(self, session_id: str, content: str) -> EarlyTurn | None:
        """Start the turn a respondent's `content` will owe, before it is stored, when this
        process wrote the session's last turn (so the context needs no SQL read). The
        upstream's latency then overlaps the durable write; nothing is published until
        `owe` hands the early turn over, and it is dropped unless the stored message
        confirms the context."""
        known = self._known.pop(session_id)
        if known is None:
            return None
        engine = self._engines.get(str(known.interview.get("engine"))) or self._engines["scripted"]
        return EarlyTurn(engine, known, content)

    async def owe(
        self,
        session_id: str,
        early: EarlyTurn | None = None,
        posted: sessions.PostedMessage | None = None,
    ) -> None:
        """Record that a turn is owed (so the sweeper finds it if we die), then start it here,
        continuing `early` if `posted` (the message that owes the turn) confirms its context."""
        if early is not None and (
            posted is None
            or not early.known.holds_for(posted.turn_seq, posted.state, posted.interview_updated_at)
        ):
            await early.cancel()
            early = None
        if early is None:
            await self._redis.zadd(redis_keys.PENDING_TURNS, {session_id: time.time() * 1000})
            self.spawn(session_id, fresh=True)
            return
        # One round trip: owed, leased, attempt counted. The turn id is new (the message just
        # moved turn_seq on) and the lease is ours, so no earlier attempt can have begun it.
        token = uuid.uuid4().hex
        attempts = redis_keys.turn_attempts(session_id, f"t{early.ctx.seq}")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(redis_keys.PENDING_TURNS, {session_id: time.time() * 1000})
            pipe.set(redis_keys.lease(session_id), token, nx=True, px=self._lease_ms)
            pipe.incr(attempts)
            pipe.expire(attempts, redis_keys.TURN_ATTEMPTS_TTL_SECONDS)
            _, leased, attempt, _ = await pipe.execute()
        early.attempt = int(attempt)
        self._track(self._run_early(session_id, token, bool(leased), early), session_id)

    async def _run_early(self, session_id: str, token: str, leased: bool, early: EarlyTurn) -> None:
        if not leased and not await self._lease_after_local_turn(session_id, token):
            await early.cancel()  # another process holds the session: as `run` would
            return
        await self._run_leased(session_id, token, True, early)

    def spawn(self, session_id: str, fresh: bool = False) -> None:
        """Start generating the owed turn here; `fresh`: no earlier attempt can have begun it."""
        self._track(self.run(session_id, fresh), session_id)

    def _track(self, turn: Coroutine[Any, Any, None], session_id: str) -> None:
        prior = self._running.get(session_id)
        task = asyncio.create_task(turn, name=f"turn:{session_id}")
        self._tasks.add(task)
        self._running[session_id] = task
        if prior is not None and not prior.done():
            self._prior[task] = prior
        task.add_done_callback(lambda t: self._forget(session_id, t))

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._prior.pop(task, None)
        if self._running.get(session_id) is task:
            del self._running[session_id]

    async def _lease_after_local_turn(self, session_id: str, token: str) -> bool:
        """The lease, once this process's previous turn of the session has let it go: it is
        released last, after `turn.completed`, so an answer can arrive while it is held."""
        current = asyncio.current_task()
        prior = self._prior.get(current) if current is not None else None
        if prior is None:
            return False
        await asyncio.wait([prior])
        lease_key = redis_keys.lease(session_id)
        return bool(await self._redis.set(lease_key, token, nx=True, px=self._lease_ms))

    def forget(self, session_id: str) -> None:
        """Drop what this process keeps of an erased session for its next turn."""
        self._known.pop(session_id)

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

    async def recover_lost(self, older_than_ms: int) -> int:
        """Start every turn that SQL says is owed but Redis has no record of (neither owed nor
        leased): Redis lost its data, or a process died between storing the message that
        owed the turn and recording it. Returns how many were started. Every sweeper may run
        this at once: the lease decides who writes each turn."""
        before = utcnow() - timedelta(milliseconds=older_than_ms)
        owed = await sessions.owed_turns(self._db, before)
        if not owed:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for turn in owed:
                pipe.zscore(redis_keys.PENDING_TURNS, turn.session_id)
                pipe.exists(redis_keys.lease(turn.session_id))
            known = await pipe.execute()
        started = 0
        for n, turn in enumerate(owed):
            if known[2 * n] is None and not known[2 * n + 1]:
                self._track(self._recover(turn), turn.session_id)
                started += 1
        return started

    async def _recover(self, turn: sessions.OwedTurn) -> None:
        token = uuid.uuid4().hex
        lease_key = redis_keys.lease(turn.session_id)
        if not await self._redis.set(lease_key, token, nx=True, px=self._lease_ms):
            return  # another sweeper took it
        try:
            recoveries = await sessions.count_recovery(self._db, turn.session_id, turn.turn_seq)
            if recoveries is not None:
                # Owed in Redis again: `owes` tells the truth, and should this process die,
                # recovery goes on from Redis as for any other turn.
                score = time.time() * 1000
                await self._redis.zadd(redis_keys.PENDING_TURNS, {turn.session_id: score})
        except BaseException:
            with contextlib.suppress(Exception):
                await self._release(keys=[lease_key], args=[token])
            raise
        if recoveries is None:
            await self._release(keys=[lease_key], args=[token])  # committed meanwhile
            return
        log.warning("turn.recovered_from_sql", session_id=turn.session_id, times=recoveries)
        await self._run_leased(turn.session_id, token, False, None, recoveries)

    async def run(self, session_id: str, fresh: bool = False) -> None:
        token = uuid.uuid4().hex
        lease_key = redis_keys.lease(session_id)
        if not await self._redis.set(
            lease_key, token, nx=True, px=self._lease_ms
        ) and not await self._lease_after_local_turn(session_id, token):
            return  # another process is generating this turn
        await self._run_leased(session_id, token, fresh, None)

    async def _run_leased(
        self,
        session_id: str,
        token: str,
        fresh: bool,
        early: EarlyTurn | None,
        recoveries: int | None = None,
    ) -> None:
        """`recoveries`: set when the turn was recovered from SQL alone, how often so far."""
        lease_key = redis_keys.lease(session_id)
        renewer = asyncio.create_task(self._keep_lease(lease_key, token))
        try:
            await self._generate(session_id, token, fresh, early, recoveries)
        except NotFound:
            # The session was erased under the turn (runtime/sessions/erasure.py): nothing is owed.
            log.info("turn.session_erased", session_id=session_id)
            with contextlib.suppress(RedisError):
                await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)
        except LeaseLost:
            log.warning("turn.lease_lost", session_id=session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease lapses and the sweeper retries; the turn is still owed.
            log.exception("turn.failed", session_id=session_id)
        finally:
            renewer.cancel()
            # A renewal that failed (Redis unreachable) must not fail a turn that finished.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer
            with contextlib.suppress(Exception):
                await self._release(keys=[lease_key], args=[token])

    async def _keep_lease(self, lease_key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                if not await self._renew(keys=[lease_key], args=[token, self._lease_ms]):
                    return  # lost: the fenced appends will stop this generator
            except RedisError as exc:
                # A blip: keep trying while the lease may still be ours.
                log.warning("turn.lease_renewal_failed", lease=lease_key, error=str(exc))

    async def _generate(
        self,
        session_id: str,
        fence: str,
        fresh: bool,
        early: EarlyTurn | None,
        recoveries: int | None,
    ) -> None:
        try:
            await self._generate_turn(session_id, fence, fresh, early, recoveries)
        finally:
            if early is not None:
                await early.cancel()

    async def _generate_turn(
        self,
        session_id: str,
        fence: str,
        fresh: bool,
        early: EarlyTurn | None,
        recoveries: int | None,
    ) -> None:
        committed: Row[Any] | None = None
        # A respondent waits from the moment the turn could start: for an early turn, the
        # answer's arrival.
        began = early.began if early is not None else time.perf_counter()
        owing: Row[Any] | None = None
        if early is not None:
            ctx = early.ctx  # confirmed by the stored message: no SQL read before streaming
        else:
            loaded = await self._load(session_id)
            if loaded is None:
                await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)
                return
            ctx, committed, owing = loaded
        turn_id = f"t{ctx.seq}"
        if early is not None:
            prior = Prior()  # see `owe`
        else:
            prior = await self._prior_attempt(session_id, turn_id, fresh and committed is None)
        started, said, completed = prior.started, prior.said, prior.completed
        # Recovered from SQL with nothing of it in the log: what a client saw of it went with
        # Redis, so the turn opens again, telling clients to replace what they showed; and
        # the answer that owed it is told again if the log lost it (clients know it by id).
        restart = recoveries is not None and not started
        if restart and owing is not None and owing.id not in prior.messages:
            said_again = RespondentMessage(owing.id, owing.content, owing.client_message_id)
            await self._events.append(session_id, said_again, fence)
        if committed is None:
            name = str(ctx.interview["engine"])
            attempt = early.attempt if early is not None else None
            engine = await self._engine_for(session_id, turn_id, name, attempt, recoveries)
            outputs = engine.respond(ctx)
            if early is not None and engine is early.engine:
                outputs = early.outputs()
            opening = TurnStarted(turn_id, None, restart)
            try:
                stored_content, stored_item, said = await self._produce(
                    session_id, turn_id, outputs, ctx, said, opening, started, fence, began
                )
            except LeaseLost:
                metrics.turn_finished(name, "lease_lost")
                raise
            except Exception:
                metrics.turn_finished(name, "failed")
                raise
            started = True
        else:
            stored_content, stored_item = committed.content, committed.item_id
        if not started:
            opening = TurnStarted(turn_id, stored_item, restart)
            await self._events.append(session_id, opening, fence)
        if not completed:
            if stored_content.startswith(said) and len(stored_content) > len(said):
                tail = stored_content[len(said) :]
                await self._events.append(session_id, TurnDelta(turn_id, tail), fence)
            await self._events.append(
                session_id, TurnCompleted(turn_id, stored_content, stored_item), fence
            )
        await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)
        # Read after the turn left the owed set: either this sees an end that was requested
        # during the turn, or the requester sees no turn owed and announces it itself.
        status, ended_reason = await sessions.status(self._db, session_id)
        if status == "completed":
            reason = ended_reason or "finished"
            await self._events.announce_end(session_id, SessionCompleted(reason), fence)

    async def _load(
        self, session_id: str
    ) -> tuple[TurnContext, Row[Any] | None, Row[Any] | None] | None:
        """The owed turn's context from SQL, the turn if it was already committed, and the
        respondent message that owed it (if one did); None when no turn is owed."""
        async with self._db.connect() as conn:
            session = await sessions.row(conn, session_id)
            turn_id = f"t{session.turn_seq}"
            history = await sessions.messages(conn, session_id)
            committed = next((m for m in history if m.turn_id == turn_id), None)
            if session.awaiting != "interviewer" and committed is None:
                return None
            interview = (
                await conn.execute(
                    select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
                )
            ).first()
            assert interview is not None
            guide = await self._guide(conn, session.interview_id, session.guide_version)
        ctx = TurnContext(
            interview=dict(interview._mapping),
            guide=guide,
            state=session.state or {},
            seq=session.turn_seq,
            transcript=[TranscriptEntry(r.role, r.content, r.item_id) for r in history],
            started_at=session.created_at,
            now=utcnow(),
        )
        owing = history[-1] if history and history[-1].role == "respondent" else None
        return ctx, committed, owing

    async def _produce(
        self,
        session_id: str,
        turn_id: str,
        outputs: AsyncIterator[TextDelta | Decision],
        ctx: TurnContext,
        said: str,
        opening: TurnStarted,
        started: bool,
        fence: str,
        began: float,
    ) -> tuple[str, str | None, str]:
        """Stream and commit the turn; returns the stored content and item, and all the text
        the log now holds for it."""
        engine = str(ctx.interview["engine"])
        first_token = None if started or said else (engine, began)
        content, decision = await self._stream(
            session_id, turn_id, outputs, said, opening, started, fence, first_token
        )
        said = content if len(content) >= len(said) else said
        stored = await sessions.commit_turn(
            self._db,
            session_id,
            ctx.seq,
            content,
            decision.item_id,
            decision.state,
            decision.completes,
            decision.metadata,
        )
        if stored is not None:
            self._known.remember(session_id, ctx, content, decision)
            _count(engine, decision)
            return content, decision.item_id, said
        # Another writer committed first: finish from what the transcript says.
        async with self._db.connect() as conn:
            committed = await sessions.committed_turn(conn, session_id, turn_id)
        if committed is None:
            await sessions.status(self._db, session_id)  # NotFound: erased meanwhile
            raise RuntimeError(f"{turn_id} of {session_id} was neither committed nor stored")
        return committed.content, committed.item_id, said

    async def _engine_for(
        self,
        session_id: str,
        turn_id: str,
        name: str,
        attempt: int | None = None,
        recoveries: int | None = None,
    ) -> Engine:
        """The interview's engine, until this turn has failed too often: then the scripted
        one, and past twice the limit a closing apology, so no turn is retried forever.
        `attempt`: this one's number, when already counted. Redis counts attempts, and a
        Redis that lost its data forgot them: SQL counts those recoveries (`recoveries`), and
        a turn recovered more than the limit gets the apology too."""
        if recoveries is not None and recoveries > self._max_attempts:
            log.warning("turn.recoveries_exhausted", session_id=session_id, turn=turn_id)
            return GiveUp()
        if attempt is None:
            key = redis_keys.turn_attempts(session_id, turn_id)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, redis_keys.TURN_ATTEMPTS_TTL_SECONDS)
                attempt = int((await pipe.execute())[0])
        if attempt <= self._max_attempts:
            return self._engines.get(name) or self._engines["scripted"]
        log.warning("turn.attempts_exhausted", session_id=session_id, turn=turn_id, attempt=attempt)
        if attempt <= 2 * self._max_attempts and name != "scripted":
            return Fallback(self._engines["scripted"], "attempts_exhausted")
        return GiveUp()

    async def _guide(self, conn: AsyncConnection, interview_id: str, version: int) -> Guide:
        # Frozen guide versions never change, so they are cached for good (bounded).
        key = (interview_id, version)
        guide = self._guides.get(key)
        if guide is None:
            guide = await interviews.frozen_guide(conn, interview_id, version)
            if len(self._guides) >= _GUIDE_CACHE_SIZE:
                self._guides.pop(next(iter(self._guides)))
            self._guides[key] = guide
        return guide

    async def _prior_attempt(self, session_id: str, turn_id: str, fresh: bool) -> Prior:
        """What earlier attempts at this turn put in the log (and which messages it holds)."""
        if fresh and await self._events.last_event_type(session_id) in _BEFORE_A_TURN:
            return Prior()  # nothing was written after the message that owed it
        prior = Prior()
        for event in await self._events.all(session_id):
            if event.type == RespondentMessage.type:
                prior.messages.add(event.data["message_id"])
            if event.data.get("turn_id") != turn_id:
                continue
            if event.type == TurnStarted.type:
                prior.started = True
            elif event.type == TurnDelta.type:
                prior.said += event.data["text"]
            elif event.type == TurnCompleted.type:
                prior.completed = True
        return prior

    async def _stream(
        self,
        session_id: str,
        turn_id: str,
        outputs: AsyncIterator[TextDelta | Decision],
        said: str,
        opening: TurnStarted,
        started: bool,
        fence: str,
        first_token: tuple[str, float] | None = None,
    ) -> tuple[str, Decision]:
        """`opening`: the turn's `turn.started` (its item is filled in here), unless `started`;
        `first_token`: (engine, when the turn could start), to time a turn's first text."""
        # What an earlier attempt already streamed stays; this attempt continues it (see Splice).
        splice = Splice(said)
        decision: Decision | None = None
        writer: DeltaWriter | None = None

        def opened() -> DeltaWriter:
            # The turn opens with its first text: `turn.started` and it in one write.
            nonlocal started
            if first_token is not None and not started:
                metrics.first_token(first_token[0], time.perf_counter() - first_token[1])
            item_id = decision.item_id if decision else None
            first = None if started else dataclasses.replace(opening, item_id=item_id)
            started = True
            return DeltaWriter(self._events, session_id, turn_id, fence, first)

        try:
            async for output in outputs:
                if isinstance(output, Decision):
                    decision = output
                    continue
                fresh = splice.feed(output.text)
                if fresh:
                    writer = writer or opened()
                    writer.write(fresh)
            tail = splice.finish()
            if tail:
                writer = writer or opened()
                writer.write(tail)
            if writer is not None:
                await writer.close()
        except Exception as exc:
            if writer is not None:
                if isinstance(exc, LeaseLost):
                    await writer.abort()
                else:
                    # The engine failed: what it wrote is on its way to the respondent anyway;
                    # flushing it makes the log say exactly what a retry must continue from.
                    with contextlib.suppress(Exception):
                        await writer.close()
            raise
        except BaseException:
            if writer is not None:
                await writer.abort()
            raise
        content = splice.text
        if decision is None:
            raise RuntimeError("engine finished without a decision")
        if not started:
            first = dataclasses.replace(opening, item_id=decision.item_id)
            await self._events.append(session_id, first, fence)
        return content, decision


@dataclasses.dataclass
class Prior:
    """What the log holds of a turn: started?, its text so far, completed?; and the ids of
    the respondent messages it holds (unread when a fresh turn's log is known to be bare)."""

    started: bool = False
    said: str = ""
    completed: bool = False
    messages: set[str] = dataclasses.field(default_factory=set)


def _count(engine: str, decision: Decision) -> None:
    reason = decision.metadata.get("fallback_reason") if decision.metadata.get("fallback") else None
    outcome: metrics.TurnOutcome = (
        "gave_up" if reason == "gave_up" else "fallback" if reason else "completed"
    )
    metrics.turn_finished(engine, outcome, str(reason) if reason else None)


class Fallback:
    """Another engine taking the turn; its decision is marked as a fallback."""

    def __init__(self, engine: Engine, reason: str) -> None:
        self._engine = engine
        self._reason = reason

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        async for output in self._engine.respond(ctx):
            if isinstance(output, Decision):
                meta = {**output.metadata, "fallback": True, "fallback_reason": self._reason}
                output = dataclasses.replace(output, metadata=meta)
            yield output


APOLOGY = (
    "I'm sorry — something went wrong on our side and we have to stop the conversation here. "
    "Thank you very much for your time."
)


class GiveUp:
    """The last resort for a turn nothing could write: close the session politely."""

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        yield TextDelta(APOLOGY)
        meta = {
            "fallback": True,
            "fallback_reason": "gave_up",
            "ended_reason": "interviewer_failed",
        }
        yield Decision("close", None, dict(ctx.state), completes=True, metadata=meta)
