"""The functions one respondent message passes, traced on a real server (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from api.app import create_app
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.conftest import new_key, serving
from tests.helpers import published_interview

ROOT = Path(__file__).resolve().parents[3]
# What docs/architecture.md counts: the handler, the live core and the session store.
COUNTED = ("api/routes/public.py", "runtime/live/", "runtime/sessions/store.py")
UNCOUNTED = {"check_token", "authenticate_any", "TurnRunner.drain"}  # credentials; the test's
# Counted so before the layout change (commit c9da4eb). PostgreSQL's writes run on the event
# loop, SQLite's in a thread that this trace does not see: three store functions more.
BEFORE = {"sqlite": 40, "postgres": 43}


async def test_an_answer_enters_the_turn_runner_once_after_it_is_stored(
    settings: Settings, own_db: Database
) -> None:
    url = own_db.engine.url.render_as_string(hide_password=False)
    app = create_app(dataclasses.replace(settings, database_url=url, scripted_delta_delay_ms=0))
    async with serving(app, lifespan="on") as base_url:
        auth = {"authorization": f"Bearer {await new_key(own_db)}"}
        async with httpx.AsyncClient(base_url=base_url, headers=auth) as client:
            interview = await published_interview(client)
            share = interview["share_token"]
            started = (await client.post(f"/v1/public/interviews/{share}/sessions")).json()
            services = app.state.services
            await services.turns.drain()  # the welcome turn: this process now knows the session
            passed: list[str] = []
            sid = started["session_id"]
            # Only this answer's own tasks: the request's, and the turn's (named after the
            # session). The loop also runs what earlier tests' servers left going (their
            # sweepers, their turns), which must not count.
            ours = {f"turn:{sid}", f"deltas:{sid}", f"lease:{sid}", "early-turn"}
            request_task: list[asyncio.Task[Any]] = []

            def profile(frame: FrameType, event: str, arg: Any) -> None:
                path = frame.f_code.co_filename
                if event != "call" or not path.startswith(str(ROOT)) or "/.venv/" in path:
                    return
                task = asyncio.current_task()
                if frame.f_code.co_qualname == "post_message" and path.endswith("public.py"):
                    request_task.append(task) if task is not None else None
                if task is None or (task not in request_task and task.get_name() not in ours):
                    return
                relative = path[len(str(ROOT)) + 1 :]
                name = frame.f_code.co_qualname
                if relative.startswith(COUNTED) and name not in UNCOUNTED:
                    if f"{relative}:{name}" not in passed:
                        passed.append(f"{relative}:{name}")

            sys.setprofile(profile)
            try:
                posted = await client.post(
                    f"/v1/sessions/{started['session_id']}/messages",
                    json={"content": "hello", "client_message_id": uuid.uuid4().hex},
                    headers={"authorization": f"Bearer {started['session_token']}"},
                )
                await services.turns.drain()
            finally:
                sys.setprofile(None)
    assert posted.status_code == 202, posted.text
    runner = [n for n in passed if n.startswith("runtime/live/turns.py:")]
    stored = passed.index("runtime/sessions/store.py:post_message")
    assert runner[0] == "runtime/live/turns.py:TurnRunner.start", runner
    assert passed.index(runner[0]) > stored, "the turn runner is entered after the SQL write"
    assert "runtime/live/ending.py:after_turn" in passed, "the end ordering has one owner"
    print(f"\n{len(passed)} functions:\n" + "\n".join(passed))
    assert len(passed) < BEFORE["sqlite" if settings.sqlite else "postgres"], "fewer than before"
