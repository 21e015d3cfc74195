"""The steering and takeover operations, called against the served OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import published_interview, start_session


async def steering_flow(c: Any, client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    """`c`: tests.api.test_openapi.Contract, which counts each documented response seen."""
    interview = await published_interview(client, engine="llm", model="mock")
    sid = {"id": (await start_session(anon, interview["share_token"])).id}
    steer, instruction = "/v1/sessions/{id}/steer", {"instruction": "Ask about their team size"}
    await c.call(client, "post", steer, 202, sid, body=instruction)
    await c.call(client, "post", steer, 400, sid, body={"instruction": ""})
    await c.call(client, "post", steer, 404, {"id": "ses_nope"}, body=instruction)
    await c.call(client, "get", steer, 200, sid, query={"limit": 1})
    said = "/v1/sessions/{id}/interviewer-messages"
    await c.call(client, "post", said, 409, sid, body={"content": "Hello from the team"})
    await c.call(client, "post", "/v1/sessions/{id}/takeover", 200, sid)
    await c.call(client, "post", said, 201, sid, body={"content": "Hello from the team"})
    await c.call(client, "post", "/v1/sessions/{id}/handback", 200, sid)
    await c.call(client, "post", "/v1/sessions/{id}/handback", 409, sid)
    scripted = await published_interview(client)
    other = {"id": (await start_session(anon, scripted["share_token"])).id}
    await c.call(client, "post", steer, 409, other, body=instruction)
