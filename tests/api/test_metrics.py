"""/metrics: scope-protected Prometheus text that counts what the node really did."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from runtime.transcripts import artifacts
from runtime.transcripts import pdf_files as transcript_pdf
from runtime.webhooks import delivery as webhook_delivery
from runtime.webhooks import endpoints as webhooks
from runtime.webhooks.delivery import Sender
from tests.conftest import Server, free_port, new_key, running
from tests.helpers import (
    converse,
    emit_alone,
    next_turn,
    published_interview,
    sse_events,
    start_session,
)
from tests.processes import WorkerProcess
from tests.receiver import receiver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.fixture
async def scraper(server: Server, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    key = await new_key(db, scopes=(keys.METRICS_READ,))
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=20
    ) as http:
        yield http


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_metrics_need_a_key_with_the_metrics_scope(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, db: Database
) -> None:
    assert (await anon.get("/metrics")).status_code == 401
    lacking = await new_key(db, scopes=(keys.SESSIONS_READ,))
    refused = await anon.get("/metrics", headers={"authorization": f"Bearer {lacking}"})
    assert refused.status_code == 403
    assert "metrics:read" in refused.json()["error"]["message"]
    # A key made with every scope (the CLI's default) may scrape.
    assert (await client.get("/metrics")).status_code == 200


async def test_a_conversation_shows_up_in_requests_turns_and_first_tokens(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, scraper: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    before = await scrape(scraper)
    await converse(anon, interview["share_token"], ["I plan sprints with it.", "Pro"])
    after = await scrape(scraper)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Two answers posted: counted by route template, never by the session's own path.
    posted = {"method": "POST", "route": "/v1/sessions/{id}/messages", "status": "202"}
    assert grew("rapport_http_requests_total", **posted) == 2
    assert not any("ses_" in dict(labels).get("route", "") for _, labels in after)
    latency = {"method": "POST", "route": "/v1/sessions/{id}/messages"}
    assert grew("rapport_http_request_duration_seconds_count", **latency) == 2
    # The welcome and two more turns, each timed to its first text.
    assert grew("rapport_turns_total", engine="scripted", outcome="completed") >= 3
    assert grew("rapport_turn_first_token_seconds_count", engine="scripted") >= 3
    # A stream's lifetime is not a latency.
    assert value(after, "rapport_http_request_duration_seconds_count", route=STREAM) == 0


STREAM = "/v1/sessions/{id}/events"


async def test_open_streams_are_gauged_while_they_are_open(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, scraper: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    base = value(await scrape(scraper), "rapport_open_streams", transport="sse")
    events = sse_events(anon, respondent.session["events_url"])
    await anext(events)  # the stream is open and has delivered
    assert value(await scrape(scraper), "rapport_open_streams", transport="sse") == base + 1
    await events.aclose()
    # The server notices the client left at its next heartbeat (1 s in tests), then lets
    # the session's subscription go.
    async with asyncio.timeout(10):
        await server.app.state.services.hub.unwatched(respondent.id)
    assert value(await scrape(scraper), "rapport_open_streams", transport="sse") == base


async def test_the_job_queue_depth_and_job_outcomes(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, scraper: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    respondent = await converse(anon, interview["share_token"], ["Planning."])
    # No job worker runs beside the shared test server: the PDF job waits in the queue.
    assert (await client.get(f"/v1/sessions/{respondent.id}/pdf")).status_code == 202
    assert value(await scrape(scraper), "rapport_job_queue_depth", state="queued") >= 1


async def test_job_outcomes_are_counted(
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    scraper: httpx.AsyncClient,
    server: Server,
    job_worker: None,
) -> None:
    interview = await published_interview(client)
    respondent = await converse(anon, interview["share_token"], ["Planning."])
    before = await scrape(scraper)
    assert (await client.get(f"/v1/sessions/{respondent.id}/pdf")).status_code == 202
    services = server.app.state.services
    doc = await artifacts.load_transcript(services.db, respondent.id)
    job = await services.jobs.job(transcript_pdf.job_key(respondent.id, doc.fingerprint))
    assert job is not None
    await job.refresh(until_complete=60)
    after = await scrape(scraper)
    done = {"function": "render_pdf", "outcome": "succeeded"}
    # At least ours: the worker also takes jobs earlier tests left queued.
    assert (
        value(after, "rapport_jobs_total", **done)
        >= value(before, "rapport_jobs_total", **done) + 1
    )
    count = "rapport_job_duration_seconds_count"
    assert value(after, count, function="render_pdf") > value(before, count, function="render_pdf")


async def test_webhook_attempts_are_counted_by_outcome(
    db: Database, settings: Settings, scraper: httpx.AsyncClient
) -> None:
    async with receiver() as hook:
        hook.statuses = [500, 200]
        workspace = await keys.ensure_workspace(db, f"metrics-{uuid.uuid4().hex[:8]}")
        events = list(webhooks.EVENTS)
        await webhooks.create(db, settings, workspace, {"url": hook.url, "events": events})
        await emit_alone(db, workspace, "session.completed", {"session_id": "ses_x"})
        before = await scrape(scraper)
        sender = Sender(settings)
        try:
            now = utcnow() + timedelta(days=1)
            for due in (now, now + webhooks.RETRY_SCHEDULE[0]):  # a 500, then its retry: 200
                await webhook_delivery.deliver_due(db, sender, settings.secret_key, due)
        finally:
            await sender.close()
    after = await scrape(scraper)
    name = "rapport_webhook_delivery_attempts_total"
    for outcome in ("retrying", "succeeded"):
        assert value(after, name, outcome=outcome) > value(before, name, outcome=outcome)


async def test_rate_limit_refusals_are_counted(settings: Settings, db: Database) -> None:
    tight = dataclasses.replace(settings, public_rate_limit="2/minute")
    key = await new_key(db, scopes=(keys.METRICS_READ,))
    async with running(tight) as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = {"authorization": f"Bearer {key}"}  # a verified key: its own limit
        before = parse((await http.get("/metrics", headers=auth)).text)
        statuses = [(await http.get("/v1/public/interviews/nope")).status_code for _ in range(4)]
        assert statuses[-1] == 429
        after = parse((await http.get("/metrics", headers=auth)).text)
    refused = statuses.count(429)
    assert value(after, LIMITED, limit="addr") - value(before, LIMITED, limit="addr") == refused
    # Refused before routing, yet counted under the route it was for.
    info = {"route": "/v1/public/interviews/{share_token}", "status": "429"}
    requests = "rapport_http_requests_total"
    assert value(after, requests, **info) - value(before, requests, **info) == refused


LIMITED = "rapport_rate_limit_refusals_total"


async def test_metrics_on_their_own_port_need_no_key(settings: Settings) -> None:
    port = free_port()
    with_port = dataclasses.replace(settings, metrics_port=port)
    async with running(with_port), httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        samples = parse(response.text)
    assert ("process_resident_memory_bytes", frozenset()) in samples
    assert any(name == "rapport_job_queue_depth" for name, _ in samples)
    # Closed with its services: the port is free again.
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_a_fallback_is_counted_with_its_reason(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, scraper: httpx.AsyncClient
) -> None:
    interview = await published_interview(client, engine="llm", model="mock:500")
    before = await scrape(scraper)
    respondent = await start_session(anon, interview["share_token"])
    events = sse_events(anon, respondent.session["events_url"])
    try:
        await next_turn(events)
    finally:
        await events.aclose()
    after = await scrape(scraper)
    fell = "rapport_turn_fallbacks_total"
    assert value(after, fell, reason="http_500") == value(before, fell, reason="http_500") + 1
    turns = "rapport_turns_total"
    fallback = {"engine": "llm", "outcome": "fallback"}
    assert value(after, turns, **fallback) == value(before, turns, **fallback) + 1


async def test_a_worker_process_is_scraped_on_its_metrics_port(
    node_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    worker = await WorkerProcess({**node_env, "RAPPORT_METRICS_PORT": str(port)}, tmp_path).start()
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:  # nothing to await: the worker says nothing when it is ready
                try:
                    response = await http.get(f"http://127.0.0.1:{port}/metrics")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
        assert response.status_code == 200
        assert "rapport_job_queue_depth" in response.text
    finally:
        assert await worker.stop() == 0
