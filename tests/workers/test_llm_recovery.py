"""A node dies half-way through an LLM turn: another process finishes it, without repeating."""

from __future__ import annotations

from pathlib import Path

import httpx

from runtime.platform.settings import Settings
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.processes import ServeProcess, node_env
from tests.upstream import Upstream

RICH = "I use it every morning to plan the team's sprint and review open tickets."


async def test_another_node_continues_a_half_streamed_llm_turn(
    settings: Settings, api_key: str, upstream: Upstream, tmp_path: Path
) -> None:
    env = node_env(settings, RAPPORT_LLM_BASE_URL=upstream.base_url)
    a = await ServeProcess(env, tmp_path / "a").start()
    b = await ServeProcess(env, tmp_path / "b").start()
    auth = {"authorization": f"Bearer {api_key}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, headers=auth, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=auth, timeout=30) as on_b,
        ):
            # 80 ms between tokens: node A is surely mid-sentence when it dies.
            interview = await published_interview(on_a, engine="llm", model="mock@80")
            respondent = await start_session(on_a, interview["share_token"])
            events = sse_events(on_b, respondent.session["events_url"].replace(a.url, b.url))
            await next_turn(events)
            assert (await respondent.say(RICH)).status_code == 202
            seen = []
            async for event in events:
                seen.append(event)
                if event.event == "turn.delta":
                    a.kill()
                    break
            more, content = await next_turn(events)
            seen += more
            await events.aclose()
        turn = [e for e in seen if e.data.get("turn_id") == "t2"]
        assert [e.event for e in turn].count("turn.started") == 1
        said = "".join(e.data["text"] for e in turn if e.event == "turn.delta")
        assert said == content, "the deltas are exactly the completed turn: no repeat, no gap"
        assert content == "Thank you. Which plan are you on?\n1. Free\n2. Pro\n3. Team"
        async with httpx.AsyncClient(base_url=b.url, headers=auth) as on_b:
            transcript = (await on_b.get(f"/v1/sessions/{respondent.id}/transcript")).json()
        stored = transcript["messages"][-1]
        assert stored["content"] == content and stored["metadata"]["engine"] == "llm"
    finally:
        await b.stop()
        await a.stop()
