"""A turn that keeps failing is retried a bounded number of times, then finished another way."""

from __future__ import annotations

from collections.abc import AsyncIterator

from runtime.engines.base import Decision, Engine, TextDelta, TurnContext
from runtime.engines.scripted import ScriptedEngine
from runtime.engines.splice import bridge
from runtime.languages.phrases import for_language
from runtime.live.eventlog import EventLog
from runtime.live.lease import RedisLeases
from runtime.live.redis_log import RedisEventLog
from runtime.live.turns import TurnRunner
from runtime.sessions import store as sessions
from tests.helpers import published_interview
from tests.runtime.conftest import Quiet

APOLOGY = for_language("en").apology()
BRIDGE = bridge(for_language("en").rephrase())


class Broken:
    """Writes the start of a sentence, then fails, every time."""

    def __init__(self) -> None:
        self.calls = 0

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        self.calls += 1
        yield TextDelta("Hello wor")
        raise RuntimeError("this engine always fails")


async def _session(quiet: Quiet) -> str:
    # Started without owing the turn, on a database no sweeper looks at: only this test's
    # runner ever generates it.
    interview = await published_interview(quiet.client, engine="llm")
    started = await sessions.start(quiet.db, interview["share_token"], {})
    return str(started.row["id"])


async def _turn_log(events: EventLog, session_id: str) -> tuple[list[str], str]:
    log = await events.all(session_id)
    deltas = "".join(e.data["text"] for e in log if e.type == "turn.delta")
    return [e.type for e in log], deltas


async def test_the_scripted_engine_takes_over_after_max_attempts(quiet: Quiet) -> None:
    db, redis = quiet.db, quiet.redis
    broken = Broken()
    events = RedisEventLog(redis, 600)
    engines: dict[str, Engine] = {"llm": broken, "scripted": ScriptedEngine(0)}
    runner = TurnRunner(db, RedisLeases(redis, 1500), events, engines, max_attempts=2)
    session_id = await _session(quiet)
    for _ in range(2):
        await runner.run(session_id)
    types, said = await _turn_log(events, session_id)
    assert types == ["turn.started", "turn.delta"] and said == "Hello wor"
    await runner.run(session_id)
    assert broken.calls == 2, "the failing engine is not tried a third time"
    types, deltas = await _turn_log(events, session_id)
    assert types.count("turn.started") == 1
    assert types[-2:] == ["turn.completed", "coverage.updated"]
    async with db.connect() as conn:
        message = await sessions.committed_turn(conn, session_id, "t1")
    assert message is not None
    assert message.content == deltas, "the transcript holds exactly what the respondent saw"
    assert message.content.startswith("Hello wor" + BRIDGE + "Hi, thanks for joining!")
    assert message.metadata["fallback_reason"] == "attempts_exhausted"


async def test_a_turn_nothing_can_write_ends_the_session_politely(quiet: Quiet) -> None:
    db, redis = quiet.db, quiet.redis
    events = RedisEventLog(redis, 600)
    engines: dict[str, Engine] = {"llm": Broken(), "scripted": Broken()}
    runner = TurnRunner(db, RedisLeases(redis, 1500), events, engines, max_attempts=1)
    session_id = await _session(quiet)
    for _ in range(3):
        await runner.run(session_id)
    types, deltas = await _turn_log(events, session_id)
    assert types[-3:] == ["turn.completed", "coverage.updated", "session.completed"]
    assert deltas == "Hello wor" + BRIDGE + APOLOGY
    status, reason = await sessions.status(db, session_id)
    assert (status, reason) == ("completed", "interviewer_failed")
    await runner.run(session_id)
    assert (await _turn_log(events, session_id))[0] == types, "nothing more is written"
