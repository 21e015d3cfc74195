"""Revoking an API key closes the live streams it opened, on every API process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from runtime.access import keys
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import Event, next_turn, published_interview, sse_events, start_session
from tests.processes import RAPPORT, serve_nodes

# Only the notice can close a stream this soon: the heartbeat re-check is an hour away.
NO_HEARTBEAT = {"RAPPORT_SSE_HEARTBEAT_SECONDS": "3600"}


async def _reader_key(http: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """A sessions:read key of the caller's workspace: (id, plaintext)."""
    made = await http.post("/v1/api-keys", json={"name": name, "scopes": ["sessions:read"]})
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["key"]


async def _until_closed(ws: Any) -> int:
    """Reads until the server closes the socket; its close code."""
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server closed the socket"
    return closed.value.rcvd.code


async def _rest(events: AsyncIterator[Event]) -> list[Event]:
    """What the stream sends until the server ends it."""
    async with asyncio.timeout(30):
        return [event async for event in events]


async def _watching(
    http: httpx.AsyncClient, url: str, key: str
) -> tuple[AsyncIterator[Event], Any]:
    """An SSE stream and a WebSocket opened on one session with `key`, both past the first turn."""
    auth = {"authorization": f"Bearer {key}"}
    stream = sse_events(http, f"{url}/events", auth)
    await next_turn(stream)
    assert (await anext(stream)).event == "coverage.updated"  # the turn's last event
    ws = await websockets.connect(f"{url.replace('http', 'ws', 1)}/ws", additional_headers=auth)
    while json.loads(await ws.recv()).get("event") != "coverage.updated":
        pass
    return stream, ws


@contextlib.asynccontextmanager
async def _one_node_watched(
    node_env: dict[str, str], db: Database, tmp_path: Path, name: str
) -> AsyncIterator[tuple[str, str, AsyncIterator[Event], Any]]:
    """One node that hears no heartbeat re-check, and a session watched (SSE and WebSocket)
    with a new sessions:read key: (key id, key, stream, socket)."""
    async with serve_nodes({**node_env, **NO_HEARTBEAT}, tmp_path, 1) as (node,):
        manager = {"authorization": f"Bearer {await new_key(db)}"}
        async with (
            httpx.AsyncClient(base_url=node.url, headers=manager, timeout=20) as http,
            httpx.AsyncClient(base_url=node.url, timeout=20) as anon,
        ):
            interview = await published_interview(http)
            respondent = await start_session(anon, interview["share_token"])
            key_id, key = await _reader_key(http, name)
            stream, ws = await _watching(anon, f"{node.url}/v1/sessions/{respondent.id}", key)
            yield key_id, key, stream, ws


async def test_a_revocation_on_one_node_closes_the_keys_streams_on_another(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    manager = {"authorization": f"Bearer {await new_key(db)}"}
    async with serve_nodes({**node_env, **NO_HEARTBEAT}, tmp_path) as (a, b):
        async with (
            httpx.AsyncClient(base_url=a.url, headers=manager, timeout=20) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=manager, timeout=20) as on_b,
            httpx.AsyncClient(base_url=a.url, timeout=20) as anon,
        ):
            interview = await published_interview(on_a)
            respondent = await start_session(anon, interview["share_token"])
            session_url = f"{a.url}/v1/sessions/{respondent.id}"
            doomed_id, doomed = await _reader_key(on_a, "doomed")
            stream, ws = await _watching(anon, session_url, doomed)
            survivor = sse_events(anon, f"{session_url}/events", manager)
            await next_turn(survivor)

            revoked = await on_b.delete(f"/v1/api-keys/{doomed_id}")
            assert revoked.status_code == 204
            ended = await _rest(stream)
            assert [e.event for e in ended] == ["error"]
            assert ended[0].data["code"] == "unauthorized" and "revoked" in ended[0].data["message"]
            assert await _until_closed(ws) == 4401

            # Only that key's streams: the researcher's other key still follows the session.
            said = await respondent.say("We use it to plan our sprints.")
            assert said.status_code == 202, said.text
            await next_turn(survivor)
            await survivor.aclose()


async def test_a_resume_after_a_missed_revocation_is_refused(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    # Revoked in SQL alone (no notice reached this node, as when Redis dropped it): the
    # socket's next resume checks the key again rather than replaying the whole log.
    async with _one_node_watched(node_env, db, tmp_path, "missed") as (key_id, key, stream, ws):
        await stream.aclose()  # type: ignore[attr-defined]
        workspace_id = (await keys.authenticate(db, key)).workspace_id
        await keys.revoke(db, workspace_id, key_id)
        await ws.send(json.dumps({"type": "resume", "last_event_id": "0"}))
        assert await _until_closed(ws) == 4401


async def test_the_heartbeat_closes_streams_of_a_key_revoked_without_a_notice(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    # The safety net: each heartbeat (1 s in tests) re-checks the keys of open streams.
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    key_id, key = await _reader_key(client, "unnoticed")
    stream, ws = await _watching(anon, f"{server.url}/v1/sessions/{respondent.id}", key)
    workspace_id = (await keys.authenticate(db, key)).workspace_id
    await keys.revoke(db, workspace_id, key_id)
    assert [e.event for e in await _rest(stream)] == ["error"]
    assert await _until_closed(ws) == 4401


async def test_rapport_keys_revoke_closes_the_keys_streams_at_once(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    # The operator's command tells the servers as DELETE /v1/api-keys does.
    async with _one_node_watched(node_env, db, tmp_path, "from-the-shell") as watched:
        key_id, _, stream, ws = watched
        cli = await asyncio.create_subprocess_exec(
            RAPPORT, "keys", "revoke", key_id,
            env={**os.environ, **node_env, "RAPPORT_DATA_DIR": str(tmp_path / "cli")},
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await cli.communicate()
        assert cli.returncode == 0, err.decode()
        assert "not told at once" not in err.decode()
        ended = await _rest(stream)
        assert [e.event for e in ended] == ["error"]
        assert await _until_closed(ws) == 4401
