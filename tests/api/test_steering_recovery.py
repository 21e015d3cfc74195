"""An instruction outlives the process writing its turn: killed mid-turn, the retry applies it."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.api.test_steering import INSTRUCTION, until
from tests.conftest import new_key
from tests.helpers import published_interview, sse_events, start_session
from tests.processes import ServeProcess, serve_nodes
from tests.upstream import Upstream


async def test_an_instruction_survives_the_death_of_the_turns_writer(
    node_env: dict[str, str], settings: Settings, upstream: Upstream, db: Database, tmp_path: Path
) -> None:
    env = {**node_env, "RAPPORT_LLM_BASE_URL": settings.llm_base_url}
    auth = {"authorization": f"Bearer {await new_key(db)}"}
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    doomed = await ServeProcess(env, tmp_path / "doomed").start()
    async with (
        serve_nodes(env, tmp_path, 1) as (other,),
        httpx.AsyncClient(base_url=doomed.url, headers=auth, timeout=20) as on_doomed,
        httpx.AsyncClient(base_url=other.url, headers=auth, timeout=20) as on_other,
    ):
        # Slow tokens: the turn is still being written when its process is killed.
        interview = await published_interview(
            on_doomed, engine="llm", model="mock@250", context=marker
        )
        respondent = await start_session(on_doomed, interview["share_token"])
        sid = respondent.id
        feed = sse_events(on_other, f"/v1/sessions/{sid}/events")
        await until(feed, "turn.completed")
        steered = await on_other.post(
            f"/v1/sessions/{sid}/steer", json={"instruction": INSTRUCTION}
        )
        assert steered.status_code == 202, steered.text
        assert (await respondent.say("stuff")).status_code == 202  # owed on the doomed node
        seen = await until(feed, "turn.delta")
        kinds = [e.event for e in seen]
        assert kinds[-4:-1] == ["respondent.message", "steer.applied", "turn.started"], kinds
        doomed.kill()
        await doomed.wait()
        [queued] = (await on_other.get(f"/v1/sessions/{sid}/steer")).json()["items"]
        assert queued["status"] == "queued", "not applied: its turn was never committed"

        # The lease lapses and a sweeper takes the turn up again, the instruction with it.
        seen = await until(feed, "turn.completed")
        await feed.aclose()  # type: ignore[attr-defined]
        assert seen[-1].data["turn_id"] == "t2"
        assert "steer.applied" not in [e.event for e in seen], "acknowledged once"
        prompts = [r.messages[0]["content"] for r in upstream.requests_for(marker)]
        assert sum(INSTRUCTION in p for p in prompts) >= 2, "the retry's prompt holds it too"
        [applied] = (await on_other.get(f"/v1/sessions/{sid}/steer")).json()["items"]
        assert applied["status"] == "applied" and applied["applied_turn_id"] == "t2"


async def test_now_and_takeover_reach_the_turn_another_process_writes(
    node_env: dict[str, str], settings: Settings, upstream: Upstream, db: Database, tmp_path: Path
) -> None:
    env = {**node_env, "RAPPORT_LLM_BASE_URL": settings.llm_base_url}
    auth = {"authorization": f"Bearer {await new_key(db)}"}
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    async with (
        serve_nodes(env, tmp_path) as (a, b),
        httpx.AsyncClient(base_url=a.url, headers=auth, timeout=20) as on_a,
        httpx.AsyncClient(base_url=b.url, headers=auth, timeout=20) as on_b,
    ):
        interview = await published_interview(on_a, engine="llm", model="mock@250", context=marker)
        for action in ("now", "takeover"):
            respondent = await start_session(on_a, interview["share_token"])
            sid = respondent.id
            feed = sse_events(on_b, f"/v1/sessions/{sid}/events")
            await until(feed, "turn.completed")
            assert (await respondent.say("stuff")).status_code == 202  # written on A
            await until(feed, "turn.delta")
            if action == "now":
                body = {"instruction": INSTRUCTION, "mode": "now"}
                assert (await on_b.post(f"/v1/sessions/{sid}/steer", json=body)).status_code == 202
            else:
                assert (await on_b.post(f"/v1/sessions/{sid}/takeover")).status_code == 200
            seen = await until(feed, "turn.completed")
            await feed.aclose()  # type: ignore[attr-defined]
            kinds = [e.event for e in seen]
            transcript = (await on_b.get(f"/v1/sessions/{sid}/transcript")).json()
            turn = transcript["messages"][-1]
            if action == "now":
                restart = kinds.index("turn.started")
                assert (
                    seen[restart].data["restart"] is True and kinds[restart - 1] == "steer.applied"
                )
                assert INSTRUCTION in upstream.requests_for(marker)[-1].messages[0]["content"]
                [applied] = (await on_b.get(f"/v1/sessions/{sid}/steer")).json()["items"]
                assert applied["status"] == "applied" and applied["applied_turn_id"] == "t2"
            else:
                assert "session.takeover" in kinds
                assert turn["turn_id"] == "t2" and turn["metadata"]["stopped"] == "takeover"
