"""Generating interviewer turns under a lease, so exactly one process finishes each turn."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from datetime import timedelta

import structlog
from redis.exceptions import RedisError

from runtime.coverage import live as coverage
from runtime.engines.base import Engine, TurnContext
from runtime.interviews.guide import items_in_order
from runtime.live import delta_writer, ending, fallbacks, guard, lease
from runtime.live.context import Contexts, Prior
from runtime.live.early_turns import EarlyStarts, EarlyTurn
from runtime.live.eventlog import EventLog, LeaseLost
from runtime.live.events import (
    CoverageUpdated,
    RespondentMessage,
    SessionEvent,
    SteerApplied,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.live.lease import Leases
from runtime.platform import metrics
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.sessions import store as sessions
from runtime.sessions import sweeps as session_sweeps
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue

log = structlog.get_logger(__name__)


class TurnRunner:
    """Owns every turn task started in this process and cancels them on close."""

    def __init__(
        self,
        db: Database,
        leases: Leases,
        events: EventLog,
        engines: dict[str, Engine],
        early: EarlyStarts | None = None,
        max_attempts: int = 3,
        jobs: JobQueue | None = None,
    ) -> None:
        self._db = db
        # Asked to check the interview when a turn completes its session (autoclose).
        self._jobs = jobs
        self._leases = leases
        self._events = events
        self._engines = engines
        self._early = early if early is not None else EarlyStarts(engines)
        self._contexts = Contexts(db, events)
        self._max_attempts = max_attempts
        self._tasks: set[asyncio.Task[None]] = set()
        # Per session, the newest turn task here, and for a task the one it follows.
        self._running: dict[str, asyncio.Task[None]] = {}
        # Per session, the turn being written here and what stops it (a voice barge-in).
        self._stops: dict[str, tuple[str, asyncio.Event]] = {}
        # Sessions whose turn here is to be written again from its start (steering, `now`),
        # and those whose turn a researcher's takeover stopped.
        self._restarts: set[str] = set()
        self._taken: set[str] = set()
        self._prior: dict[asyncio.Task[None], asyncio.Task[None]] = {}

    def start(
        self,
        session_id: str,
        fresh: bool = False,
        early: EarlyTurn | None = None,
        token: str | None = None,
        lost: session_sweeps.OwedTurn | None = None,
    ) -> None:
        """Start generating the owed turn here, as a task this runner owns. `fresh`: no
        earlier attempt can have begun it; `early`: its engine's output so far (the turn
        then owns it); `token`: the lease, when already taken; `lost`: the turn as SQL
        owes it, when Redis has no record of it."""
        turn = self._recover(lost) if lost else self._run(session_id, fresh, early, token)
        prior = self._running.get(session_id)
        task = asyncio.create_task(turn, name=f"turn:{session_id}")
        self._tasks.add(task)
        self._running[session_id] = task
        if prior is not None and not prior.done():
            self._prior[task] = prior
        task.add_done_callback(functools.partial(self._forget, session_id))

    async def run(self, session_id: str, fresh: bool = False) -> None:
        """Generate the owed turn, unless another process holds its lease."""
        await self._run(session_id, fresh)

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._prior.pop(task, None)
        if self._running.get(session_id) is task:
            del self._running[session_id]

    async def _lease_after_local_turn(self, session_id: str) -> str | None:
        """The lease, once this process's previous turn of the session has let it go: it is
        released last, after `turn.completed`, so an answer can arrive while it is held."""
        current = asyncio.current_task()
        prior = self._prior.get(current) if current is not None else None
        if prior is None:
            return None
        await asyncio.wait([prior])
        return await self._leases.take(session_id)

    def interrupt(self, session_id: str, turn_id: str) -> bool:
        """Stop writing the turn, if this process is writing it: the respondent spoke over it
        (runtime/live/voice_channel.py). It is committed as far as it was written. False when
        another process writes it (it then runs to its end; the stored turn is cut to what
        was heard all the same)."""
        found = self._stops.get(session_id)
        if found is None or found[0] != turn_id:
            return False
        found[1].set()
        return True

    def restart(self, session_id: str) -> bool:
        """Stop the turn this process is writing and write it again from its start, with the
        instructions queued by then (a `mode: now` instruction). False when no turn of the
        session is being written here."""
        found = self._stops.get(session_id)
        if found is None:
            return False
        self._restarts.add(session_id)
        found[1].set()
        return True

    def stop(self, session_id: str) -> bool:
        """Stop the turn this process is writing, committed as far as written (a takeover)."""
        found = self._stops.get(session_id)
        if found is None:
            return False
        self._taken.add(session_id)
        found[1].set()
        return True

    def _asked(self, session_id: str, reason: str) -> None:
        """A researcher on another process asked this turn's writer (Leases.ask_stop)."""
        if reason == "restart":
            self.restart(session_id)
        elif reason == "takeover":
            self.stop(session_id)

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
        orphans = await self._leases.unleased_owed(older_than_ms)
        for session_id in orphans:
            self.start(session_id)
        return len(orphans)

    async def recover_lost(self, older_than_ms: int) -> int:
        """Start every turn that SQL says is owed but Redis has no record of (neither owed nor
        leased): Redis lost its data, or a process died between storing the message that
        owed the turn and recording it. Returns how many were started. Every sweeper may run
        this at once: the lease decides who writes each turn."""
        before = utcnow() - timedelta(milliseconds=older_than_ms)
        owed = {turn.session_id: turn for turn in await session_sweeps.owed_turns(self._db, before)}
        lost = await self._leases.unknown(list(owed))
        for session_id in lost:
            self.start(session_id, lost=owed[session_id])
        return len(lost)

    async def _recover(self, turn: session_sweeps.OwedTurn) -> None:
        token = await self._leases.take(turn.session_id)
        if token is None:
            return  # another sweeper took it
        try:
            recoveries = await session_sweeps.count_recovery(
                self._db, turn.session_id, turn.turn_seq
            )
            if recoveries is not None:
                # Owed in Redis again: `owes` tells the truth, and should this process die,
                # recovery goes on from Redis as for any other turn.
                await self._leases.owe(turn.session_id)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._leases.release(turn.session_id, token)
            raise
        if recoveries is None:
            await self._leases.release(turn.session_id, token)  # committed meanwhile
            return
        log.warning("turn.recovered_from_sql", session_id=turn.session_id, times=recoveries)
        await self._run(turn.session_id, False, None, token, recoveries)

    async def _run(
        self,
        session_id: str,
        fresh: bool,
        early: EarlyTurn | None = None,
        token: str | None = None,
        recoveries: int | None = None,
    ) -> None:
        """`recoveries`: set when the turn was recovered from SQL alone, how often so far."""
        try:
            if token is None and early is None:
                token = await self._leases.take(session_id)
            if token is None:
                token = await self._lease_after_local_turn(session_id)
            if token is None:
                return  # another process is generating this turn
            asked = functools.partial(self._asked, session_id)
            renewer = asyncio.create_task(
                lease.keep(self._leases, session_id, token, asked), name=f"lease:{session_id}"
            )
            try:
                await self._turn(session_id, token, fresh, early, recoveries)
            finally:
                renewer.cancel()
                # A renewal that failed (Redis unreachable) must not fail a turn that finished.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await renewer
                with contextlib.suppress(Exception):
                    await self._leases.release(session_id, token)
        except NotFound:
            # The session was erased under the turn (runtime/erasure/erase.py): nothing is owed.
            log.info("turn.session_erased", session_id=session_id)
            with contextlib.suppress(RedisError):
                await self._leases.settle(session_id)
        except LeaseLost:
            log.warning("turn.lease_lost", session_id=session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease lapses and the sweeper retries; the turn is still owed.
            log.exception("turn.failed", session_id=session_id)
        finally:
            if early is not None:
                await early.cancel()

    async def _turn(
        self,
        session_id: str,
        fence: str,
        fresh: bool,
        early: EarlyTurn | None,
        recoveries: int | None,
    ) -> None:
        # A respondent waits from the moment the turn could start: for an early turn, the
        # answer's arrival.
        began = early.began if early is not None else time.perf_counter()
        committed = owing = None
        private: tuple[str, ...] = ()
        if early is not None:
            ctx = early.ctx  # confirmed by the stored message: no SQL read before streaming
            prior = Prior()  # a new turn id, leased by us: no earlier attempt began it
        else:
            loaded = await self._contexts.load(session_id)
            if loaded is None:
                await self._leases.settle(session_id)
                return
            ctx, committed, owing = loaded.ctx, loaded.committed, loaded.owing
            private = loaded.private
            prior = await self._contexts.prior(
                session_id, f"t{ctx.seq}", fresh and committed is None
            )
        turn_id = f"t{ctx.seq}"
        # Recovered from SQL with nothing of it in the log: what a client saw of it went with
        # Redis, so the turn opens again, telling clients to replace what they showed; and
        # the answer that owed it is told again if the log lost it (clients know it by id).
        restart = recoveries is not None and not prior.started
        if restart and owing is not None and owing.id not in prior.messages:
            said_again = RespondentMessage(owing.id, owing.content, owing.client_message_id)
            await self._events.append(session_id, said_again, fence)
        said = prior.said
        if committed is None:
            content, item_id, said = await self._write(
                session_id, turn_id, ctx, early, prior, restart, fence, began, recoveries, private
            )
        else:
            content, item_id = committed.content, committed.item_id
            if not prior.started:
                await self._events.append(session_id, TurnStarted(turn_id, item_id, restart), fence)
        if not prior.completed:
            tail: list[SessionEvent] = []
            if content.startswith(said) and len(content) > len(said):
                tail.append(TurnDelta(turn_id, content[len(said) :]))
            tail.append(TurnCompleted(turn_id, content, item_id))
            # Read once the turn is committed (never on the way to its first token), and
            # appended with turn.completed in one step: no stream has one without the other.
            now = await coverage.after_turn(self._db, session_id, items_in_order(ctx.guide))
            if now is not None:
                tail.append(CoverageUpdated(turn_id, **now))
            await self._events.append_all(session_id, tail, fence)
        await ending.after_turn(self._db, self._leases, self._events, session_id, fence, self._jobs)

    async def _write(
        self,
        session_id: str,
        turn_id: str,
        ctx: TurnContext,
        early: EarlyTurn | None,
        prior: Prior,
        restart: bool,
        fence: str,
        began: float,
        recoveries: int | None,
        private: tuple[str, ...] = (),
    ) -> tuple[str, str | None, str]:
        """Stream and commit the turn; returns the stored content and item, and all the text
        the log now holds for it. A `mode: now` instruction arriving while it streams has it
        written again from its start, with that instruction (steering.interrupt)."""
        name = str(ctx.interview["engine"])
        engine = await fallbacks.engine_for(
            self._engines,
            self._leases,
            self._max_attempts,
            session_id,
            turn_id,
            name,
            early.attempt if early is not None else None,
            recoveries,
        )
        said_before, opening = prior.said, not prior.started
        while True:
            if ctx.guidance:
                ctx = await self._steered(session_id, turn_id, ctx, engine, name, prior, fence)
            outputs = (
                early.outputs()
                if early is not None and engine is early.engine
                else engine.respond(ctx)
            )
            if private:  # a steered session: no turn may say what researchers told it
                outputs = guard.Guard(private).filter(outputs, ctx.phrases.probe())
            stop = asyncio.Event()
            self._stops[session_id] = (turn_id, stop)
            try:
                content, decision = await delta_writer.stream(
                    self._events,
                    session_id,
                    turn_id,
                    outputs,
                    said_before,
                    TurnStarted(turn_id, None, restart) if opening else None,
                    fence,
                    ctx.phrases.rephrase(),
                    (name, began) if opening and not said_before and not restart else None,
                    stop,
                )
                stopped = decision.metadata.get("stopped") == "barge_in"
                if stopped and session_id in self._restarts and not decision.completes:
                    # Steered `now`: the same turn again from its start, the instruction in
                    # its prompt; clients replace what they showed of it (restart: true).
                    self._restarts.discard(session_id)
                    early, said_before, opening, restart = None, "", True, True
                    queued, private = await self._contexts.guidance(session_id)
                    ctx = dataclasses.replace(ctx, guidance=queued)
                    prior = dataclasses.replace(prior, started=False)
                    continue
                if stopped and session_id in self._taken:
                    meta = {**decision.metadata, "stopped": "takeover"}
                    decision = dataclasses.replace(decision, metadata=meta)
                said = content if len(content) >= len(said_before) else said_before
                turn = sessions.CommittedTurn(
                    content,
                    decision.item_id,
                    decision.move,
                    decision.state,
                    decision.completes,
                    decision.metadata,
                    decision.answer.stored() if decision.answer else None,
                    decision.revisit,
                    tuple(g.id for g in ctx.guidance) if ctx.guidance else (),
                )
                stored = await sessions.commit_turn(self._db, session_id, ctx.seq, turn)
                if stored is not None:
                    self._early.remember(session_id, ctx, content, decision)
                    fallbacks.count(name, decision)
                    return content, decision.item_id, said
                # Another writer committed first: finish from what the transcript says.
                async with self._db.connect() as conn:
                    committed = await sessions.committed_turn(conn, session_id, turn_id)
                if committed is None:
                    await sessions.status(self._db, session_id)  # NotFound: erased meanwhile
                    raise RuntimeError(
                        f"{turn_id} of {session_id} was neither committed nor stored"
                    )
                return committed.content, committed.item_id, said
            except LeaseLost:
                metrics.turn_finished(name, "lease_lost")
                raise
            except Exception:
                metrics.turn_finished(name, "failed")
                raise
            finally:
                self._restarts.discard(session_id)
                self._taken.discard(session_id)
                if self._stops.get(session_id, (None,))[0] == turn_id:
                    del self._stops[session_id]

    async def _steered(
        self,
        session_id: str,
        turn_id: str,
        ctx: TurnContext,
        engine: Engine,
        name: str,
        prior: Prior,
        fence: str,
    ) -> TurnContext:
        """The context with the instructions this turn applies, each acknowledged in the log
        before the turn opens: none for a fallback (its words are the runtime's), and a
        retry of a turn already open keeps to those it acknowledged."""
        guidance = ctx.guidance if engine is self._engines.get(name) else ()
        if prior.started:
            guidance = tuple(g for g in guidance if g.id in prior.steered)
        acks: list[SessionEvent] = [
            SteerApplied(g.id, turn_id) for g in guidance if g.id not in prior.steered
        ]
        if acks:
            await self._events.append_all(session_id, acks, fence)
            prior.steered.update(g.id for g in guidance)
        return dataclasses.replace(ctx, guidance=guidance)
