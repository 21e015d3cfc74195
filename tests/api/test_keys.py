"""API keys over HTTP: created once, listed without secrets, revoked at once; scopes everywhere."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from api import openapi
from api.catalog import ENDPOINTS
from runtime.access import keys
from runtime.access.rate_limits import RateLimiter
from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import published_interview, start_session

_FILL = {"section_id": "S1", "share_token": "x"}
WEBSOCKETS = {"streamWebSocket", "interviewFeedWebSocket"}


def _scoped_operations(settings: Settings) -> list[tuple[str, str, str]]:
    spec = openapi.document(settings, "http://test", ENDPOINTS)
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            uses_key = any("apiKey" in req for req in op["security"])
            if uses_key:
                assert "x-required-scope" in op, f"{method} {path} declares no scope"
                assert op["x-required-scope"] in keys.ALL_SCOPES
                assert {"apiKey": [op["x-required-scope"]]} in op["security"]
            # A WebSocket refuses in its handshake (4403): tested with the other WS closes
            # (below for the session's, in test_live_feed for the interview feed's).
            if uses_key and op["operationId"] not in WEBSOCKETS:
                found.append((method, path, op["x-required-scope"]))
    return found


def _url(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "item_id":
            return "T1" if "/tasks/" in path else "Q1"
        return _FILL.get(name, "nope")

    return re.sub(r"{(\w+)}", fill, path)


async def test_every_researcher_operation_declares_and_enforces_its_scope(
    server: Server, db: Database, anon: httpx.AsyncClient
) -> None:
    operations = _scoped_operations(server.settings)
    assert len(operations) >= 28
    for method, path, scope in operations:
        lacking = await new_key(db, "scopes-walk", tuple(s for s in keys.ALL_SCOPES if s != scope))
        only = await new_key(db, "scopes-walk", (scope,))
        request: dict[str, Any] = {"json": {}} if method in ("post", "patch") else {}
        refused = await anon.request(
            method.upper(), _url(path), headers={"authorization": f"Bearer {lacking}"}, **request
        )
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
        assert scope in refused.json()["error"]["message"], (method, path)
        allowed = await anon.request(
            method.upper(), _url(path), headers={"authorization": f"Bearer {only}"}, **request
        )
        assert allowed.status_code != 403, (method, path, allowed.text)


async def test_keys_are_shown_once_listed_without_secrets_and_revoked_at_once(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["interviews:read", "sessions:read"]}
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["key"].startswith(keys.KEY_PREFIX) and key["key"].startswith(key["prefix"])
    assert key["scopes"] == ["interviews:read", "sessions:read"]
    reader = {"authorization": f"Bearer {key['key']}"}
    assert (await anon.get("/v1/interviews", headers=reader)).status_code == 200
    listed = (await client.get("/v1/api-keys")).json()["items"]
    mine = next(k for k in listed if k["id"] == key["id"])
    assert "key" not in mine and key["key"] not in str(listed)
    assert mine["last_used_at"] is not None, "the reader's request counted as a use"
    assert set(mine) == {"id", "name", "prefix", "scopes", "plan", "created_at", "last_used_at"}

    refused = await anon.post("/v1/interviews", json={"title": "t"}, headers=reader)
    assert refused.status_code == 403
    assert "interviews:write" in refused.json()["error"]["message"]

    assert (await client.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
    after = await anon.get("/v1/interviews", headers=reader)
    assert after.status_code == 401 and after.json()["error"]["code"] == "unauthorized"
    listed = (await client.get("/v1/api-keys")).json()["items"]
    assert key["id"] not in [k["id"] for k in listed]


async def test_a_key_cannot_grant_scopes_it_does_not_hold(
    db: Database, anon: httpx.AsyncClient
) -> None:
    manager = await new_key(db, scopes=(keys.KEYS_MANAGE, keys.INTERVIEWS_READ))
    auth = {"authorization": f"Bearer {manager}"}
    escalate = await anon.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["interviews:write"]}, headers=auth
    )
    assert escalate.status_code == 403 and "interviews:write" in escalate.text
    inherited = await anon.post("/v1/api-keys", json={"name": "y"}, headers=auth)
    assert inherited.status_code == 201
    assert inherited.json()["scopes"] == [keys.INTERVIEWS_READ, keys.KEYS_MANAGE]
    unknown = await anon.post("/v1/api-keys", json={"name": "z", "scopes": ["root"]}, headers=auth)
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "scopes"


async def test_another_workspace_cannot_revoke_a_key(
    db: Database, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    made = (await client.post("/v1/api-keys", json={"name": "mine"})).json()
    stranger = {"authorization": f"Bearer {await new_key(db)}"}
    gone = await anon.delete(f"/v1/api-keys/{made['id']}", headers=stranger)
    assert gone.status_code == 404
    still = await anon.get("/v1/interviews", headers={"authorization": f"Bearer {made['key']}"})
    assert still.status_code == 200


@pytest.mark.parametrize("raw", ["default", "pro=10/minute", "=5/minute"])
def test_malformed_plans_are_refused_at_start(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="RAPPORT_RATE_LIMIT_PLANS"):
        Settings.from_env({"RAPPORT_SECRET_KEY": "x", "RAPPORT_RATE_LIMIT_PLANS": raw})


def test_a_plan_that_is_not_a_limit_is_refused_at_start() -> None:
    settings = Settings.from_env(
        {"RAPPORT_SECRET_KEY": "x", "RAPPORT_RATE_LIMIT_PLANS": "default=fast"}
    )
    with pytest.raises(ConfigurationError, match="default='fast'"):
        RateLimiter(Redis(), settings)


async def test_a_socket_opened_with_a_key_lacking_sessions_read_is_closed_4403(
    server: Server, db: Database, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    made = await client.post(
        "/v1/api-keys", json={"name": "no-sessions", "scopes": ["interviews:read"]}
    )
    url = f"{server.ws_url}/v1/sessions/{respondent.id}/ws"
    headers = {"authorization": f"Bearer {made.json()['key']}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403 and "sessions:read" in closed.value.rcvd.reason
