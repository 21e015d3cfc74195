"""An LLM interview is refused where no LLM answers: at publish, preview and a switch to it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.api.test_openapi import Contract
from tests.api.test_preview import draft_with_guide
from tests.conftest import free_port, new_key, running
from tests.helpers import published_interview


@pytest.fixture(params=["not configured", "unreachable"])
async def without_llm(
    request: pytest.FixtureRequest, settings: Settings, db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose LLM is not configured, or points at a port where nothing listens."""
    base = "" if request.param == "not configured" else f"http://127.0.0.1:{free_port()}/v1"
    changed = dataclasses.replace(settings, llm_base_url=base, llm_api_key="")
    key = await new_key(db)
    async with (
        running(changed) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=20
        ) as http,
    ):
        yield http


async def test_publish_and_preview_of_an_llm_interview_are_refused_without_an_llm(
    without_llm: httpx.AsyncClient,
) -> None:
    client = without_llm
    draft = await draft_with_guide(client)  # engine: llm
    refused = await client.post(f"/v1/interviews/{draft['id']}/publish")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict" and error["field"] == "engine"
    assert "engine llm" in error["message"]
    assert (
        "not configured" in error["message"] and "RAPPORT_LLM_BASE_URL" in error["message"]
    ) or ("does not answer" in error["message"] and "127.0.0.1" in error["message"])
    contract = Contract((await client.get("/v1/openapi.json")).json())
    contract.check(refused, "post", "/v1/interviews/{id}/publish")
    assert (await client.get(f"/v1/interviews/{draft['id']}")).json()["status"] == "draft"
    preview = await client.post(f"/v1/interviews/{draft['id']}/preview-sessions", json={})
    assert preview.status_code == 409 and preview.json()["error"]["message"] == error["message"]
    contract.check(preview, "post", "/v1/interviews/{id}/preview-sessions")
    # The scripted engine needs nothing: it publishes, and a live one cannot be switched.
    scripted = await published_interview(client)
    switched = await client.patch(f"/v1/interviews/{scripted['id']}", json={"engine": "llm"})
    assert switched.status_code == 409 and switched.json()["error"]["field"] == "engine"
    contract.check(switched, "patch", "/v1/interviews/{id}")
    assert (await client.get(f"/v1/interviews/{scripted['id']}")).json()["engine"] == "scripted"
    # A draft may be switched: its publish is where it is checked.
    assert (await client.patch(f"/v1/interviews/{draft['id']}", json={"title": "T"})).is_success
    # Readiness says so, and stays ready: an LLM is not what takes the node out of rotation.
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    contract.check(ready, "get", "/readyz")
    llm = ready.json()["detail"]["llm"]
    assert llm.startswith(("not configured", "unreachable")), llm


async def test_with_the_upstream_answering_an_llm_interview_publishes_and_previews(
    client: httpx.AsyncClient,
) -> None:
    draft = await draft_with_guide(client)
    preview = await client.post(f"/v1/interviews/{draft['id']}/preview-sessions", json={})
    assert preview.status_code == 201, preview.text
    published = await client.post(f"/v1/interviews/{draft['id']}/publish")
    assert published.status_code == 200, published.text
    detail = (await client.get("/readyz")).json()["detail"]
    assert detail["llm"] == "ok"
