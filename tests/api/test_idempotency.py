"""Idempotency-Key: a retried create returns the original answer and creates nothing more."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from runtime.stores.database import Database
from tests.conftest import new_key
from tests.helpers import published_interview


async def test_same_key_and_body_returns_the_original(client: httpx.AsyncClient) -> None:
    key = {"idempotency-key": uuid.uuid4().hex}
    first = await client.post("/v1/interviews", json={"title": "Once"}, headers=key)
    again = await client.post("/v1/interviews", json={"title": "Once"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    listed = (await client.get("/v1/interviews")).json()["items"]
    assert [i["id"] for i in listed] == [first.json()["id"]]

    other = await client.post("/v1/interviews", json={"title": "Twice"}, headers=key)
    assert other.status_code == 409
    assert other.json()["error"] == {
        "code": "conflict",
        "message": "this Idempotency-Key was used with another request body",
        "field": "Idempotency-Key",
    }


async def test_refusals_are_replayed_too_and_keys_are_per_api_key(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    key = {"idempotency-key": "k-" + uuid.uuid4().hex}
    bad = await client.post("/v1/interviews", json={"title": ""}, headers=key)
    assert bad.status_code == 400
    assert (await client.post("/v1/interviews", json={"title": ""}, headers=key)).json() == (
        bad.json()
    )
    someone = {"authorization": f"Bearer {await new_key(db)}", **key}
    theirs = await anon.post("/v1/interviews", json={"title": "x"}, headers=someone)
    assert theirs.status_code == 201, "another API key's records are its own"


async def test_concurrent_duplicates_create_one_resource(client: httpx.AsyncClient) -> None:
    key = {"idempotency-key": uuid.uuid4().hex}
    body = {"title": "Raced"}
    answers = await asyncio.gather(
        *(client.post("/v1/interviews", json=body, headers=key) for _ in range(8))
    )
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    in_progress = [a for a in answers if a.status_code == 409]
    assert len(created) == 1
    assert len(in_progress) + sum(a.status_code == 201 for a in answers) == 8
    for refused in in_progress:
        assert "still in progress" in refused.json()["error"]["message"]
    listed = (await client.get("/v1/interviews")).json()["items"]
    assert [i["id"] for i in listed] == list(created)
    settled = await client.post("/v1/interviews", json=body, headers=key)
    assert settled.json()["id"] in created


async def test_public_session_start_is_idempotent(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    url = f"/v1/public/interviews/{interview['share_token']}/sessions"
    key = {"idempotency-key": uuid.uuid4().hex}
    first = await anon.post(url, json={"name": "Ada"}, headers=key)
    again = await anon.post(url, json={"name": "Ada"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["session_id"] == first.json()["session_id"]
    sessions = (await client.get(f"/v1/interviews/{interview['id']}/sessions")).json()
    assert len(sessions["items"]) == 1


async def test_malformed_keys_are_refused(client: httpx.AsyncClient) -> None:
    for bad in ("x" * 256, ""):
        answer = await client.post(
            "/v1/interviews", json={"title": "t"}, headers={"idempotency-key": bad}
        )
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == "Idempotency-Key"
    assert (await client.get("/v1/interviews")).json()["items"] == []
