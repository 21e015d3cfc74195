"""Console tickets: an API key exchanged for a short-lived `ct_…` that stands for it
everywhere, with its scopes, until it expires, is signed out, or the key is revoked."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest
import websockets

from runtime.stores import redis_keys
from tests.conftest import Server, new_key, running
from tests.helpers import next_turn, published_interview, sse_events, start_session


async def _ticket(http: httpx.AsyncClient, credential: str) -> dict[str, Any]:
    made = await http.post("/v1/console/tickets", headers={"authorization": f"Bearer {credential}"})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _as(ticket: str) -> dict[str, str]:
    return {"authorization": f"Bearer {ticket}"}


async def test_a_ticket_stands_for_its_key(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/v1/api-keys", json={"name": "console", "scopes": ["interviews:read", "sessions:read"]}
    )
    key = made.json()
    issued = await _ticket(anon, key["key"])
    assert issued["ticket"].startswith("ct_") and issued["key_id"] == key["id"]
    assert issued["scopes"] == ["interviews:read", "sessions:read"]
    assert issued["expires_at"].endswith("Z")
    interview = await published_interview(client)
    seen = await anon.get(f"/v1/interviews/{interview['id']}", headers=_as(issued["ticket"]))
    assert seen.status_code == 200 and seen.json()["id"] == interview["id"]
    # Exactly the key's scopes: writing is refused as it would be with the key.
    write = await anon.post("/v1/interviews", json={"title": "x"}, headers=_as(issued["ticket"]))
    assert write.status_code == 403 and "interviews:write" in write.json()["error"]["message"]
    # A session stream opens with it, as with the key.
    who = await start_session(anon, interview["share_token"])
    stream = sse_events(anon, f"/v1/sessions/{who.id}/events", _as(issued["ticket"]))
    try:
        async with asyncio.timeout(20):
            _, content = await next_turn(stream)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    assert content
    # A live ticket renews the sign-in; the new one carries the same key.
    renewed = await _ticket(anon, issued["ticket"])
    assert renewed["ticket"] != issued["ticket"] and renewed["key_id"] == key["id"]


async def test_garbage_signed_out_and_expired_tickets_are_refused(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server, api_key: str
) -> None:
    for garbage in ("ct_", "ct_nothing-like-a-ticket", "ct_" + "A" * 43):
        refused = await anon.get("/v1/interviews", headers=_as(garbage))
        assert refused.status_code == 401, garbage
        assert refused.json()["error"]["code"] == "unauthorized"
    issued = await _ticket(anon, api_key)
    assert (await anon.get("/v1/interviews", headers=_as(issued["ticket"]))).status_code == 200
    out = await anon.delete("/v1/console/tickets/current", headers=_as(issued["ticket"]))
    assert out.status_code == 204
    after = await anon.get("/v1/interviews", headers=_as(issued["ticket"]))
    assert after.status_code == 401 and "sign in again" in after.json()["error"]["message"]
    not_a_ticket = await anon.delete("/v1/console/tickets/current", headers=_as(api_key))
    assert not_a_ticket.status_code == 401
    # Expiry is Redis's: the ticket's key goes when its TTL runs out.
    short = dataclasses.replace(server.settings, console_ticket_ttl_seconds=1)
    async with running(short) as node, httpx.AsyncClient(base_url=node.url) as http:
        brief = await _ticket(http, api_key)
        redis = node.app.state.services.redis
        from runtime.platform.ids import hash_secret

        key = redis_keys.console_ticket(hash_secret(brief["ticket"]))
        assert 0 < await redis.ttl(key) <= 1
        await redis.pexpire(key, 1)  # what the TTL does, without waiting a second for it
        await asyncio.sleep(0.01)
        gone = await http.get("/v1/interviews", headers=_as(brief["ticket"]))
        assert gone.status_code == 401


async def test_revoking_the_key_fails_its_tickets_and_closes_their_streams(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    made = await client.post("/v1/api-keys", json={"name": "console", "scopes": ["sessions:read"]})
    key = made.json()
    issued = await _ticket(anon, key["key"])
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    stream = sse_events(anon, f"/v1/sessions/{who.id}/events", _as(issued["ticket"]))
    try:
        async with asyncio.timeout(20):
            await next_turn(stream)
            revoked = await client.delete(f"/v1/api-keys/{key['id']}")
            assert revoked.status_code == 204
            rest = [event async for event in stream]
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    assert rest and rest[-1].event == "error" and "revoked" in rest[-1].data["message"]
    after = await anon.get(f"/v1/sessions/{who.id}", headers=_as(issued["ticket"]))
    assert after.status_code == 401
    renew = await anon.post("/v1/console/tickets", headers=_as(issued["ticket"]))
    assert renew.status_code == 401


@pytest.mark.parametrize("credential", ["", "Basic abc", "Bearer rk_live_nope", "Bearer st_nope"])
async def test_signing_in_needs_a_credential(anon: httpx.AsyncClient, credential: str) -> None:
    headers = {"authorization": credential} if credential else {}
    refused = await anon.post("/v1/console/tickets", headers=headers)
    assert refused.status_code == 401


async def test_another_workspaces_ticket_sees_nothing(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client)
    stranger = await new_key(server.app.state.services.db)
    issued = await _ticket(anon, stranger)
    seen = await anon.get(f"/v1/interviews/{interview['id']}", headers=_as(issued["ticket"]))
    assert seen.status_code == 404


async def test_a_ticket_opens_a_websocket_that_only_watches(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server, api_key: str
) -> None:
    issued = await _ticket(anon, api_key)
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    url = f"{server.ws_url}/v1/sessions/{who.id}/ws"
    async with websockets.connect(url, additional_headers=_as(issued["ticket"])) as ws:
        first = json.loads(await ws.recv())
        assert first["event"] == "session.started"
        await ws.send(json.dumps({"type": "message", "content": "hi", "client_message_id": "x"}))
        async with asyncio.timeout(10):
            while (frame := json.loads(await ws.recv())).get("type") != "error":
                pass
    assert frame["error"]["code"] == "unauthorized", "a researcher's ticket never speaks"
