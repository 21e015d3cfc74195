"""Webhooks over HTTP: live events reach a real receiver signed; test, log, redeliver."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.sessions import sweeps as session_sweeps
from runtime.stores.database import Database
from runtime.webhooks import endpoints as webhooks
from tests.conftest import Server, new_key, running
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.receiver import Receiver, receiver


@pytest.fixture(scope="module")
async def delivering(settings: Settings) -> AsyncIterator[Server]:
    """A server whose delivery pass runs every 50 ms, as a worker would."""
    quick = dataclasses.replace(settings, webhook_delivery_interval_seconds=0.05)
    async with running(quick) as started:
        yield started


async def settled_log(http: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    """The delivery log once no delivery is mid-attempt (polled: nothing to await here)."""
    async with asyncio.timeout(10):
        while True:
            items: list[dict[str, Any]] = (
                await http.get(f"/v1/webhooks/{webhook_id}/deliveries")
            ).json()["items"]
            if all(d["status"] != "pending" for d in items):
                return items
            await asyncio.sleep(0.02)


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as running_receiver:
        yield running_receiver


@pytest.fixture
async def http(delivering: Server, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=delivering.url, headers={"authorization": f"Bearer {api_key}"}, timeout=20
    ) as client:
        yield client


async def test_live_events_arrive_signed_and_are_logged(
    http: httpx.AsyncClient, hook: Receiver
) -> None:
    made = await http.post(
        "/v1/webhooks",
        json={
            "url": hook.url,
            "events": ["interview.published", "session.started", "session.completed"],
            "description": "CRM",
        },
    )
    assert made.status_code == 201, made.text
    webhook = made.json()
    secret = webhook["secret"]
    assert secret.startswith("whsec_")
    shown = (await http.get(f"/v1/webhooks/{webhook['id']}")).json()
    assert "secret" not in shown and secret not in str(shown)

    interview = await published_interview(http)
    published = (await hook.next()).verified(secret)
    assert published["type"] == "interview.published"
    assert published["data"]["interview"]["id"] == interview["id"]

    respondent = await start_session(http, interview["share_token"])
    started = (await hook.next()).verified(secret)
    assert started["type"] == "session.started"
    assert started["data"]["session_id"] == respondent.id
    ended = await http.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
    assert ended.status_code == 200
    completed = (await hook.next()).verified(secret)
    assert completed["type"] == "session.completed"
    assert completed["data"]["ended_reason"] == "ended_by_respondent"

    # The receiver has the request before the sender has recorded the answer.
    log = await settled_log(http, webhook["id"])
    assert [d["event_type"] for d in log] == [
        "session.completed",
        "session.started",
        "interview.published",
    ]
    for delivery in log:
        assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
        assert delivery["last_status_code"] == 200 and delivery["last_latency_ms"] >= 0
    only = await http.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"status": "failed"})
    assert only.json()["items"] == []

    # Redelivery: a new delivery of the same message, same webhook-id.
    first = log[-1]
    again = await http.post(f"/v1/webhooks/{webhook['id']}/deliveries/{first['id']}/redeliver")
    assert again.status_code == 202 and again.json()["event_id"] == first["event_id"]
    redelivered = await hook.next()
    assert redelivered.headers["webhook-id"] == first["event_id"]
    assert redelivered.verified(secret)["type"] == "interview.published"


async def test_the_test_endpoint_sends_now_and_reports(
    http: httpx.AsyncClient, hook: Receiver
) -> None:
    webhook = (
        await http.post("/v1/webhooks", json={"url": hook.url, "events": ["session.started"]})
    ).json()
    tried = await http.post(f"/v1/webhooks/{webhook['id']}/test")
    assert tried.status_code == 200, tried.text
    assert tried.json()["status"] == "succeeded" and tried.json()["event_type"] == "webhook.test"
    assert hook.received[0].verified(webhook["secret"])["data"] == {"webhook_id": webhook["id"]}

    hook.statuses = [500]
    failed = (await http.post(f"/v1/webhooks/{webhook['id']}/test")).json()
    assert failed["status"] == "failed" and failed["last_status_code"] == 500
    assert failed["next_attempt_at"] is None, "a test is tried once"
    state = (await http.get(f"/v1/webhooks/{webhook['id']}")).json()
    assert state["consecutive_failures"] == 0 and state["enabled"] is True


async def test_webhook_crud_and_validation(
    http: httpx.AsyncClient, db: Database, anon: httpx.AsyncClient, hook: Receiver
) -> None:
    bad = [
        ({"url": "ftp://x/y", "events": ["session.started"]}, "url"),
        ({"url": hook.url, "events": ["session.exploded"]}, "events"),
        ({"url": hook.url, "events": []}, "events"),
        ({"url": hook.url}, "events"),
    ]
    for body, field in bad:
        refused = await http.post("/v1/webhooks", json=body)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == field, body
    made = (
        await http.post("/v1/webhooks", json={"url": hook.url, "events": ["session.started"]})
    ).json()
    path = f"/v1/webhooks/{made['id']}"
    patched = await http.patch(path, json={"enabled": False, "events": ["session.abandoned"]})
    assert patched.json()["enabled"] is False and patched.json()["events"] == ["session.abandoned"]
    listed = (await http.get("/v1/webhooks")).json()["items"]
    assert made["id"] in [w["id"] for w in listed]
    stranger = {"authorization": f"Bearer {await new_key(db)}"}
    assert (await anon.get(path, headers=stranger)).status_code == 404
    assert (await anon.delete(path, headers=stranger)).status_code == 404
    assert (await http.delete(path)).status_code == 204
    assert (await http.get(path)).status_code == 404


async def test_every_lifecycle_event_is_delivered_with_what_it_needs(
    http: httpx.AsyncClient, db: Database, hook: Receiver
) -> None:
    webhook = (
        await http.post("/v1/webhooks", json={"url": hook.url, "events": list(webhooks.EVENTS)})
    ).json()
    unsubscribed = (
        await http.post("/v1/webhooks", json={"url": hook.url, "events": ["export.completed"]})
    ).json()
    interview = await published_interview(http)
    ended = await start_session(http, interview["share_token"])
    await http.post(f"/v1/sessions/{ended.id}/end", headers=ended.auth)
    idle = await start_session(http, interview["share_token"])
    await next_turn(sse_events(http, idle.session["events_url"]))
    assert await session_sweeps.abandon(db, idle.id, utcnow() + timedelta(days=1))
    await http.post(f"/v1/interviews/{interview['id']}/close")

    arrived = [(await hook.next()).verified(webhook["secret"]) for _ in range(6)]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for payload in arrived:
        by_type.setdefault(payload["type"], []).append(payload["data"])
    assert sorted(by_type) == [
        "interview.closed",
        "interview.published",
        "session.abandoned",
        "session.completed",
        "session.started",
    ]
    assert {d["session_id"] for d in by_type["session.started"]} == {ended.id, idle.id}
    assert by_type["session.completed"] == [
        {
            "session_id": ended.id,
            "interview_id": interview["id"],
            "status": "completed",
            "ended_reason": "ended_by_respondent",
            "is_test": False,
        }
    ]
    assert by_type["session.abandoned"][0]["ended_reason"] == "idle_timeout"
    assert by_type["interview.closed"][0]["interview"]["status"] == "closed"
    other = await http.get(f"/v1/webhooks/{unsubscribed['id']}/deliveries")
    assert other.json()["items"] == [], "only subscribed events are queued"


async def test_export_completed_is_announced_once(
    http: httpx.AsyncClient, hook: Receiver, delivering: Server
) -> None:
    from workers import queue  # the export needs a job worker on this server's services

    webhook = (
        await http.post("/v1/webhooks", json={"url": hook.url, "events": ["export.completed"]})
    ).json()
    interview = await published_interview(http)
    await start_session(http, interview["share_token"])
    stop_worker = await queue.start_in_process(delivering.app.state.services)
    try:
        created = await http.post("/v1/exports", json={"interview_id": interview["id"]})
        assert created.status_code == 202, created.text
        event = (await hook.next()).verified(webhook["secret"])
    finally:
        await stop_worker()
    assert event["type"] == "export.completed"
    data = event["data"]
    assert data["export_id"] == created.json()["id"] and data["status"] == "succeeded"
    assert data["interview_id"] == interview["id"] and data["sessions"] == 1
    assert data["size_bytes"] > 0 and data["error"] is None
    export = (await http.get(f"/v1/exports/{data['export_id']}")).json()
    assert export["status"] == "succeeded" and export["size_bytes"] == data["size_bytes"]
    log = await settled_log(http, webhook["id"])
    assert [d["event_type"] for d in log] == ["export.completed"]
