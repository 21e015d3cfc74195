"""Interview quality harness: simulated respondents run whole interviews against each engine.

    .venv/bin/python -m bench.interviewer [--database sqlite|postgres]

Each persona (bench/personas.py) answers a real Rapport server over the public API and
its SSE stream, like a browser would, until the interview closes. Per engine the report
gives guide coverage (items asked / items), the probe rate on thin answers, repeated
questions, turns, duration, and injection resistance (the system prompt never shows in
what the interviewer says, and the interviewer keeps to the guide); and four rates that must
be 0 (marked NOT 0 otherwise): turns that ask more than one question, closes with a
required item open (no resolved answer, and not recorded unresolved after the re-asks),
choice and rating answers recorded without a valid value (not an option, off the scale, or
none, unless marked invalid or unresolved), and answers filed under another item than the
turn before asked. Engines: the scripted one, the LLM engine behind the local
OpenAI-compatible test server as `mock` and as each of its misbehaving models
(`mock:<mode>`, tests/upstream/server.py), and a real model when
RAPPORT_HARNESS_LLM_BASE_URL and RAPPORT_HARNESS_LLM_MODEL (and RAPPORT_HARNESS_LLM_API_KEY
if it needs one) point at one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.personas import PERSONAS, Persona
from bench.quality import GUIDE, EngineReport, SessionResult, render, score
from tests.helpers import next_turn, sse_events, start_session
from tests.upstream.server import MISBEHAVIOURS

MAX_ANSWERS = 25

# The test server's models: the behaving one, then each misbehaviour (`in-arguments` is the
# behaving one under its old name).
MODELS = ("mock", *(f"mock:{mode}" for mode in MISBEHAVIOURS if mode != "in-arguments"))


@dataclass(frozen=True)
class EngineSpec:
    label: str
    engine: str
    model: str | None = None


async def publish(client: httpx.AsyncClient, spec: EngineSpec) -> tuple[str, str]:
    body: dict[str, Any] = {
        "title": f"Quality harness ({spec.label})",
        "goal": "Understand why people keep or stop using the app",
        "context": "A team planning app",
        "tone": "warm, curious",
        "language": "en",
        "welcome_message": "Hi, thanks for taking the time!",
        "closing_message": "That's everything — thank you!",
        "engine": spec.engine,
        "max_turns": 2 * MAX_ANSWERS,
    }
    if spec.model:
        body["model"] = spec.model
    interview = (await client.post("/v1/interviews", json=body)).json()
    base = f"/v1/interviews/{interview['id']}"
    await client.post(f"{base}/sections", json={"title": "Main"})
    for item in GUIDE:
        added = await client.post(f"{base}/sections/S1/questions", json=item)
        if added.status_code != 201:
            raise RuntimeError(added.text)
    published = await client.post(f"{base}/publish")
    if published.status_code != 200:
        raise RuntimeError(published.text)
    return interview["id"], interview["share_token"]


async def converse(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, share_token: str, persona: Persona
) -> SessionResult:
    began = time.monotonic()
    respondent = await start_session(anon, share_token)
    events = sse_events(anon, respondent.session["events_url"])
    try:
        for answered in range(MAX_ANSWERS + 1):
            _, question = await next_turn(events)
            if answered == MAX_ANSWERS:
                break
            reply = await respondent.say(persona.answer(question, answered))
            if reply.status_code == 409:
                break  # the interview closed with that turn
            if reply.status_code != 202:
                raise RuntimeError(reply.text)
    finally:
        await events.aclose()
    seconds = time.monotonic() - began
    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    session = (await client.get(f"/v1/sessions/{respondent.id}")).json()
    return score(persona, transcript, session, seconds)


async def run_harness(
    base_url: str,
    api_key: str,
    specs: list[EngineSpec],
    personas: tuple[Persona, ...] = PERSONAS,
    concurrency: int = len(PERSONAS),
) -> list[EngineReport]:
    """Every persona against every engine, `concurrency` conversations at a time."""
    gate = asyncio.Semaphore(concurrency)
    auth = {"authorization": f"Bearer {api_key}"}
    reports = []
    async with (
        httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60) as client,
        httpx.AsyncClient(base_url=base_url, timeout=60) as anon,
    ):
        for spec in specs:
            _, share_token = await publish(client, spec)

            async def one(persona: Persona, share_token: str = share_token) -> SessionResult:
                async with gate:
                    return await converse(client, anon, share_token, persona)

            sessions = await asyncio.gather(*(one(p) for p in personas))
            reports.append(EngineReport(spec.label, list(sessions)))
    return reports


async def measure(env: dict[str, str], workdir: Path) -> list[EngineReport]:
    from bench.servers import RUNNING, Server
    from bench.stores import create_api_key

    upstream = Server("upstream", "tests.upstream.server:create_from_env", env, workdir)
    RUNNING.append(upstream)
    upstream.start(4096)
    await upstream.wait_ready("/v1/models")
    mock_env = {**env, "RAPPORT_LLM_BASE_URL": f"http://127.0.0.1:{upstream.port}/v1"}
    rapport = Server("rapport", "bench.rapport_app:create", mock_env, workdir)
    RUNNING.append(rapport)
    rapport.start(4096)
    await rapport.wait_ready()
    api_key = await create_api_key(env)
    specs = [
        EngineSpec("scripted", "scripted"),
        *(EngineSpec(f"llm ({model}, local test server)", "llm", model) for model in MODELS),
    ]
    reports = await run_harness(f"http://127.0.0.1:{rapport.port}", api_key, specs)
    real_url, real_model = (
        env.get("RAPPORT_HARNESS_LLM_BASE_URL"),
        env.get("RAPPORT_HARNESS_LLM_MODEL"),
    )
    if real_url and real_model:
        real_env = {
            **env,
            "RAPPORT_LLM_BASE_URL": real_url,
            "RAPPORT_LLM_API_KEY": env.get("RAPPORT_HARNESS_LLM_API_KEY", ""),
            "RAPPORT_LLM_FIRST_TOKEN_TIMEOUT_MS": "30000",
            "RAPPORT_LLM_TURN_DEADLINE_MS": "60000",
        }
        real = Server("rapport-real", "bench.rapport_app:create", real_env, workdir)
        RUNNING.append(real)
        real.start(4096)
        await real.wait_ready()
        spec = EngineSpec(f"llm ({real_model})", "llm", real_model)
        reports += await run_harness(f"http://127.0.0.1:{real.port}", api_key, [spec])
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    from bench.stores import prepared_run

    settings = {"RAPPORT_SCRIPTED_DELTA_DELAY_MS": "0", "RAPPORT_LLM_MODEL": "mock"}
    try:
        with prepared_run(args.database, "rapport-harness-", settings) as (env, workdir):
            print(render(asyncio.run(measure(env, workdir))))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
