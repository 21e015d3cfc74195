"""Conventions on every endpoint: request ids, security headers, CORS, limits, health."""

from __future__ import annotations

import asyncio
import time

import httpx

from runtime.live import tickets
from runtime.stores import redis_keys
from tests.conftest import Server
from tests.helpers import first_event, published_interview, sse_events, start_session


async def test_request_id_is_echoed_or_made(anon: httpx.AsyncClient) -> None:
    made = await anon.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    given = await anon.get("/healthz", headers={"x-request-id": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    hostile = await anon.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    error = await anon.get("/v1/interviews")
    assert error.headers["x-request-id"], "errors carry one too"


async def test_security_headers(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/v1/interviews")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"


def _policy(response: httpx.Response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    policy = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name:
            policy[name] = sources
    return policy


async def test_only_the_respondent_page_may_be_framed(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    page = await anon.get(f"/i/{interview['share_token']}")
    assert page.status_code == 200
    # Embedded on customers' sites (per-interview origins are a later issue).
    assert _policy(page)["frame-ancestors"] == "*" and "x-frame-options" not in page.headers
    assert _policy(page)["base-uri"] == "'none'" and _policy(page)["form-action"] == "'none'"
    # Module scripts and their imports, and the WebSocket, from the page's own origin only.
    assert _policy(page)["script-src"] == "'self'" and _policy(page)["connect-src"] == "'self'"
    docs = await anon.get("/docs")
    assert docs.status_code == 200 and docs.headers["x-frame-options"] == "DENY"
    assert _policy(docs)["frame-ancestors"] == "'none'"
    assert _policy(docs)["base-uri"] == "'none'" and _policy(docs)["form-action"] == "'none'"
    assert _policy(docs)["script-src"] == "'self'", "no inline script, no CDN"
    for asset in ("/static/respondent.js", "/static/respondent.css", "/static/docs/docs.js"):
        served = await anon.get(asset)
        assert served.status_code == 200 and served.headers["x-frame-options"] == "DENY"
        assert _policy(served)["frame-ancestors"] == "'none'", asset
    # A module script must come as JavaScript: with nosniff, the browser refuses anything else.
    # …and so must voice mode's, the AudioWorklet's module included (addModule is as strict).
    modules = ("respondent.js", "respondent/conversation.js", "respondent/view.js")
    voice = ("respondent/voice-control.js", "respondent/voice-worklet.js", "respondent/audio.js")
    for module in (*modules, *voice):
        served = await anon.get(f"/static/{module}")
        kind = served.headers["content-type"].split(";")[0]
        assert kind in ("text/javascript", "application/javascript"), (module, kind)


async def test_cors_only_on_the_public_subset(anon: httpx.AsyncClient) -> None:
    origin = {"origin": "https://customer.example"}
    public = await anon.get("/v1/public/interviews/none", headers=origin)
    assert public.headers.get("access-control-allow-origin") == "*"
    preflight = await anon.options(
        "/v1/sessions/ses_x/messages",
        headers={
            **origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    private = await anon.get("/v1/interviews", headers=origin)
    assert "access-control-allow-origin" not in private.headers
    private_preflight = await anon.options(
        "/v1/interviews", headers={**origin, "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in private_preflight.headers


async def test_body_limit_is_413(client: httpx.AsyncClient, server: Server) -> None:
    limit = server.settings.max_body_bytes
    big = b'{"title": "' + b"x" * limit + b'"}'
    declared = await client.post("/v1/interviews", content=big)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = await client.post("/v1/interviews", content=chunks())
    assert streamed.status_code == 413
    listed = (await client.get("/v1/interviews")).json()["items"]
    assert listed == [], "nothing was created"


async def test_bad_json_and_unknown_routes(client: httpx.AsyncClient) -> None:
    broken = await client.post("/v1/interviews", content=b"{nope")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "validation_error"
    not_object = await client.post("/v1/interviews", json=["title"])
    assert not_object.status_code == 400
    missing = await client.post("/v1/interviews", json={"goal": "x"})
    assert missing.json()["error"]["field"] == "title"
    unknown = await client.get("/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong_method = await client.put("/v1/interviews")
    assert wrong_method.status_code == 405


async def test_health_and_readiness(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/healthz")).json() == {"status": "ok"}
    ready = await anon.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert {k: body[k] for k in ("status", "checks")} == {
        "status": "ready",
        "checks": {"sql": "ok", "redis": "ok"},
    }
    # The LLM is a detail, never a check (tests/api/test_llm_readiness.py).
    assert set(body["detail"]) == {"llm"}


async def test_stream_tickets_expire_and_resist_tampering(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    secret = server.settings.secret_key
    path = f"/v1/sessions/{respondent.id}/events"
    expired = tickets.issue(secret, respondent.id, 60, now=time.time() - 120)
    response = await anon.get(path, params={"ticket": expired})
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    forged = tickets.issue("another-secret", respondent.id, 60)
    assert (await anon.get(path, params={"ticket": forged})).status_code == 401
    other_session = tickets.issue(secret, "ses_other", 60)
    assert (await anon.get(path, params={"ticket": other_session})).status_code == 401
    fresh = await anon.post(f"/v1/sessions/{respondent.id}/tickets", headers=respondent.auth)
    assert fresh.status_code == 200
    first = await first_event(anon, fresh.json()["events_url"])
    assert first.event == "session.started"
    bad_resume = await anon.get(path, params={"ticket": expired.split(".")[0] + ".x"})
    assert bad_resume.status_code == 401
    bad_id = await anon.get(
        respondent.session["events_url"], headers={"last-event-id": "not-an-id"}
    )
    assert bad_id.status_code == 400


async def test_streams_accept_session_token_and_api_key(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    path = f"/v1/sessions/{respondent.id}/events"
    by_token = await first_event(anon, path, headers=respondent.auth)
    by_key = await first_event(client, path)
    assert by_token.id == by_key.id and by_token.event == "session.started"
    none = await anon.get(path)
    assert none.status_code == 401


async def test_a_stream_whose_client_left_is_released_within_a_heartbeat(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    hub = server.app.state.services.hub
    async with httpx.AsyncClient(base_url=server.url) as watcher:
        stream = sse_events(watcher, respondent.session["events_url"])
        assert (await anext(stream)).event == "session.started"
        assert redis_keys.notify(respondent.id) in hub._subscriptions
        await stream.aclose()  # the client goes away; nothing tells the server but the socket
    # Noticed at the next heartbeat (1 s in tests), with no task watching each stream.
    async with asyncio.timeout(3):
        await hub.unwatched(respondent.id)
    assert redis_keys.notify(respondent.id) not in hub._subscriptions
