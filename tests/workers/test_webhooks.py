"""Webhook delivery driven with a controllable clock: the retry schedule, auto-disable, SSRF."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.platform.errors import ValidationError
from runtime.platform.settings import Settings
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.webhooks import address as webhook_address
from runtime.webhooks import delivery as webhook_delivery
from runtime.webhooks import endpoints as webhooks
from runtime.webhooks import outbox as webhook_outbox
from runtime.webhooks.delivery import Sender
from tests.helpers import emit_alone, published_interview
from tests.processes import RAPPORT, ServeProcess
from tests.receiver import Receiver, receiver

DATA = {"session_id": "ses_x", "interview_id": "int_x", "status": "completed"}


@pytest.fixture(autouse=True)
async def no_deliveries_of_other_tests(db: Database) -> None:
    """These tests run delivery passes a day ahead and count what they attempt: deliveries
    other tests left pending (their receivers long gone) must not be among them."""
    async with db.begin() as conn:
        await conn.execute(
            update(schema.webhook_deliveries)
            .where(schema.webhook_deliveries.c.status == "pending")
            .values(status="failed", next_attempt_at=None)
        )


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
async def sender(settings: Settings) -> AsyncIterator[Sender]:
    made = Sender(settings)
    yield made
    await made.close()


async def _webhook(db: Database, settings: Settings, url: str) -> tuple[str, webhooks.Webhook, str]:
    workspace = await keys.ensure_workspace(db, f"hooks-{uuid.uuid4().hex[:8]}")
    view = await webhooks.create(
        db, settings, workspace, {"url": url, "events": list(webhooks.EVENTS)}
    )
    return workspace, view, view.secret


async def _deliveries(
    db: Database, workspace: str, webhook_id: str
) -> list[webhook_outbox.WebhookDelivery]:
    items = (await webhook_outbox.list_deliveries(db, workspace, webhook_id, None, None, 100)).items
    return items


async def _pass(db: Database, sender: Sender, settings: Settings, now: datetime) -> int:
    return await webhook_delivery.deliver_due(db, sender, settings.secret_key, now)


async def test_failed_attempts_are_retried_on_the_schedule_then_fail(
    db: Database, settings: Settings, sender: Sender, hook: Receiver
) -> None:
    hook.statuses = [500] * 6
    workspace, view, secret = await _webhook(db, settings, hook.url)
    assert await emit_alone(db, workspace, "session.completed", DATA) == 1
    now = utcnow() + timedelta(days=1)
    for attempt, wait in enumerate((*webhooks.RETRY_SCHEDULE, None), start=1):
        assert await _pass(db, sender, settings, now) == 1
        [delivery] = await _deliveries(db, workspace, view.id)
        assert delivery.attempts == attempt
        assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
        if wait is None:
            assert delivery.status == "failed" and delivery.next_attempt_at is None
            break
        assert delivery.status == "pending"
        assert delivery.next_attempt_at == now + wait
        # Not a moment before it is due.
        assert await _pass(db, sender, settings, now + wait - timedelta(seconds=1)) == 0
        now += wait
    assert len(hook.received) == 6
    ids = {r.headers["webhook-id"] for r in hook.received}
    assert ids == {delivery.event_id}, "every retry carries the same webhook-id"
    for got in hook.received:
        payload = got.verified(secret)
        assert payload["type"] == "session.completed" and payload["data"] == DATA
    assert [e.attempt for e in delivery.log] == [1, 2, 3, 4, 5, 6]
    assert all(e.latency_ms >= 0 and e.status_code == 500 for e in delivery.log)
    assert (await webhooks.get(db, workspace, view.id)).consecutive_failures == 1


async def test_five_failed_deliveries_disable_and_reenabling_resets(
    db: Database, settings: Settings, sender: Sender, hook: Receiver
) -> None:
    hook.statuses = [503] * 30
    workspace, view, _ = await _webhook(db, settings, hook.url)
    for _ in range(webhooks.DISABLE_AFTER):
        await emit_alone(db, workspace, "session.started", DATA)
    now = utcnow() + timedelta(days=1)
    for wait in (*webhooks.RETRY_SCHEDULE, timedelta(0)):
        assert await _pass(db, sender, settings, now) == webhooks.DISABLE_AFTER
        now += wait
    state = await webhooks.get(db, workspace, view.id)
    assert state.enabled is False
    assert state.consecutive_failures == webhooks.DISABLE_AFTER
    assert state.disabled_reason == "5 deliveries in a row failed"
    assert await emit_alone(db, workspace, "session.started", DATA) == 0

    again = await webhooks.update_fields(db, settings, workspace, view.id, {"enabled": True})
    assert again.enabled is True and again.consecutive_failures == 0
    assert again.disabled_reason is None
    hook.statuses = []
    assert await emit_alone(db, workspace, "session.started", DATA) == 1
    assert await _pass(db, sender, settings, now + timedelta(days=1)) == 1
    delivered = await _deliveries(db, workspace, view.id)
    assert delivered[0].status == "succeeded" and delivered[0].last_status_code == 200


async def test_a_success_resets_the_failure_count(
    db: Database, settings: Settings, sender: Sender, hook: Receiver
) -> None:
    hook.statuses = [500] * 6
    workspace, view, _ = await _webhook(db, settings, hook.url)
    await emit_alone(db, workspace, "interview.closed", {"interview": {}})
    now = utcnow() + timedelta(days=1)
    for wait in (*webhooks.RETRY_SCHEDULE, timedelta(0)):
        await _pass(db, sender, settings, now)
        now += wait
    assert (await webhooks.get(db, workspace, view.id)).consecutive_failures == 1
    await emit_alone(db, workspace, "interview.closed", {"interview": {}})
    assert await _pass(db, sender, settings, now) == 1
    assert (await webhooks.get(db, workspace, view.id)).consecutive_failures == 0


async def test_two_passes_at_once_attempt_each_delivery_once(
    db: Database, settings: Settings, hook: Receiver
) -> None:
    workspace, view, _ = await _webhook(db, settings, hook.url)
    for _ in range(6):
        await emit_alone(db, workspace, "session.started", DATA)
    senders = [Sender(settings), Sender(settings)]
    now = utcnow() + timedelta(days=1)
    try:
        counts = await asyncio.gather(*(_pass(db, s, settings, now) for s in senders))
    finally:
        for s in senders:
            await s.close()
    assert sum(counts) == 6 and len(hook.received) == 6
    assert all(d.attempts == 1 for d in await _deliveries(db, workspace, view.id))


async def test_non_public_addresses_are_refused_unless_allowed(
    settings: Settings, hook: Receiver
) -> None:
    strict = Sender(dataclasses.replace(settings, webhook_allow_private=False))
    try:
        outcome = await strict.post(hook.url, {}, b"{}")
        localhost = await strict.post(hook.url.replace("127.0.0.1", "localhost"), {}, b"{}")
        unresolvable = await strict.post(f"http://{'a' * 64}.example/", {}, b"{}")
    finally:
        await strict.close()
    assert outcome.status_code is None and "non-public address" in (outcome.error or "")
    assert localhost.status_code is None and "non-public address" in (localhost.error or "")
    assert hook.received == []
    assert unresolvable.status_code is None and "cannot resolve" in (unresolvable.error or "")
    bad = (
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/",
        "ftp://a/b",
        f"http://{'a' * 64}.example/",
        "http://exa mple.com/",
    )
    for url in bad:
        with pytest.raises(ValidationError):
            webhook_address.check_url(url, allow_private=False)
    assert webhook_address.check_url("http://10.1.2.3/x", allow_private=True)


# Each reaches (or may reach) this host or its network: IPv4 forms, and every way IPv6 can
# carry an IPv4 address (IPv4-compatible, IPv4-mapped, NAT64 well-known and local-use
# prefixes, 6to4, Teredo) around a loopback or private one, and IPv6's own special ranges.
NON_PUBLIC = (
    "0.0.0.0", "127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "192.0.0.1", "198.18.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::127.0.0.1", "::10.0.0.1", "::8.8.8.8", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::7f00:1", "64:ff9b:1::808:808",
    "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:0:808:808:8000:63bf:f7f7:f7f7",
    "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "100::1",
    "2001:db8::1",
)  # fmt: skip
# Public, and so is what they embed: a NAT64 host reaches IPv4-only receivers this way.
PUBLIC = (
    "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
)  # fmt: skip


def _literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", NON_PUBLIC)
async def test_every_non_public_address_is_refused_at_create_and_at_send(
    settings: Settings, address: str
) -> None:
    url = f"http://{_literal(address)}:9/hook"
    with pytest.raises(ValidationError):
        webhook_address.check_url(url, allow_private=False)
    # A webhook stored before the guard knew better is refused when it is sent: the
    # addresses the name resolves to (here through the system resolver) are checked again.
    strict = Sender(dataclasses.replace(settings, webhook_allow_private=False))
    try:
        outcome = await strict.post(url, {}, b"{}")
    finally:
        await strict.close()
    assert outcome.status_code is None and "non-public address" in (outcome.error or ""), outcome


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_and_what_embeds_them_are_allowed(address: str) -> None:
    url = f"https://{_literal(address)}/hook"
    assert webhook_address.check_url(url, allow_private=False) == url


async def test_the_checked_address_is_the_one_connected_to_with_the_original_host(
    sender: Sender, hook: Receiver
) -> None:
    named = hook.url.replace("127.0.0.1", "localhost")
    outcome = await sender.post(named, {"webhook-id": "msg_1"}, b"{}")
    assert outcome.ok
    [got] = hook.received
    assert got.headers["host"] == named.split("/")[2], "the receiver sees the name, not the IP"
    assert got.headers["webhook-id"] == "msg_1"


async def test_redirects_are_not_followed_and_slow_receivers_time_out(
    settings: Settings, hook: Receiver
) -> None:
    quick = Sender(dataclasses.replace(settings, webhook_timeout_seconds=0.5))
    try:
        redirected = await quick.post(hook.url.replace("/hook", "/redirect"), {}, b"{}")
        assert redirected.status_code == 307 and not redirected.ok
        assert [r.body for r in hook.received] == [b"redirect"], "the redirect was not followed"
        hook.stall_seconds = 1.5
        slow = await quick.post(hook.url, {}, b"{}")
        assert slow.status_code is None and slow.error == "timed out"
        assert slow.latency_ms < 2000
    finally:
        await quick.close()


async def test_a_standalone_worker_delivers(
    node_env: dict[str, str], api_key: str, hook: Receiver, tmp_path: Path
) -> None:
    env = {
        **node_env,
        "RAPPORT_IN_PROCESS_WORKER": "0",
        "RAPPORT_WEBHOOK_ALLOW_PRIVATE": "1",
        "RAPPORT_WEBHOOK_DELIVERY_INTERVAL_SECONDS": "0.1",
    }
    api = await ServeProcess(env, tmp_path / "api").start()
    worker = await asyncio.create_subprocess_exec(RAPPORT, "worker", env=api.env)
    try:
        async with httpx.AsyncClient(
            base_url=api.url, headers={"authorization": f"Bearer {api_key}"}
        ) as http:
            made = await http.post(
                "/v1/webhooks", json={"url": hook.url, "events": ["interview.published"]}
            )
            interview = await published_interview(http)
            payload = (await hook.next()).verified(made.json()["secret"])
            assert payload["data"]["interview"]["id"] == interview["id"]
    finally:
        assert await api.stop() == 0
        worker.terminate()
        assert await asyncio.wait_for(worker.wait(), 20) == 0
