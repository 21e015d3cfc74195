"""The sweeper: idle sessions are abandoned; owed turns whose generator died are finished."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx

from runtime.platform.settings import Settings
from runtime.services import Services
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.processes import RAPPORT, ServeProcess, node_env
from workers.sweeper import sweep_once


async def test_idle_sessions_become_abandoned(
    settings: Settings, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    idle = await start_session(anon, interview["share_token"])
    events = sse_events(anon, idle.session["events_url"])
    await next_turn(events)
    eager = dataclasses.replace(settings, session_idle_timeout_seconds=0)
    services = await Services.open(eager)
    try:
        _, abandoned = await sweep_once(services)
        assert abandoned >= 1
        _, again = await sweep_once(services)
        assert again == 0, "a session is abandoned once"
    finally:
        await services.close()
    tail = [e async for e in events]
    # The opening's coverage closes its turn; then the session ends.
    assert [e.event for e in tail] == ["coverage.updated", "session.state"]
    assert tail[-1].data == {"status": "abandoned", "reason": "idle_timeout"}
    view = (await client.get(f"/v1/sessions/{idle.id}")).json()
    assert view["status"] == "abandoned" and view["ended_reason"] == "idle_timeout"
    late = await idle.say("sorry, I was away")
    assert late.status_code == 409
    counts = (await client.get(f"/v1/interviews/{interview['id']}")).json()["session_counts"]
    assert counts["abandoned"] == 1 and counts["total"] == 1


async def test_a_standalone_worker_recovers_a_dead_nodes_turn(
    settings: Settings, api_key: str, tmp_path: Path
) -> None:
    env = node_env(settings, RAPPORT_IN_PROCESS_WORKER="0")
    a = await ServeProcess(
        {**env, "RAPPORT_SCRIPTED_DELTA_DELAY_MS": "100"}, tmp_path / "a"
    ).start()
    b = await ServeProcess(env, tmp_path / "b").start()
    worker = await asyncio.create_subprocess_exec(
        RAPPORT, "worker", env={**b.env, "RAPPORT_SCRIPTED_DELTA_DELAY_MS": "0"}
    )
    auth = {"authorization": f"Bearer {api_key}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, headers=auth) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=auth, timeout=30) as on_b,
        ):
            interview = await published_interview(on_a, welcome_message="Hello there. " * 30)
            respondent = await start_session(on_a, interview["share_token"])
            events = sse_events(on_b, respondent.session["events_url"].replace(a.url, b.url))
            async for event in events:
                if event.event == "turn.delta":
                    a.kill()
                    break
            _, content = await next_turn(events)
            assert "What do you use" in content
            await events.aclose()
    finally:
        await b.stop()
        worker.terminate()
        assert await asyncio.wait_for(worker.wait(), 20) == 0
