"""Subscriptions to a session's log: every event once, in order, across pages and reconnects."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from runtime.live.eventlog import LOG_PAGE
from runtime.live.events import TurnDelta
from runtime.live.hub import Subscription
from runtime.platform.settings import Settings
from runtime.services import Services


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    opened = await Services.open(settings)
    yield opened
    await opened.close()


async def _append(services: Services, session_id: str, texts: range) -> list[str]:
    return [await services.events.append(session_id, TurnDelta("t", str(n))) for n in texts]


async def _read(subscription: Subscription, count: int) -> list[str]:
    texts: list[str] = []
    while len(texts) < count:
        texts += [e.data["text"] for e in await subscription.next()]
    return texts


async def test_a_long_log_then_live_events_arrive_once_in_order(services: Services) -> None:
    session_id = f"ses_{uuid.uuid4().hex}"
    await _append(services, session_id, range(LOG_PAGE * 2 + 7))
    subscription = await services.hub.open(session_id, "0")
    try:
        first_page = await subscription.next()
        # Appended while the rest of the log is still unread: must not jump ahead of it.
        await _append(services, session_id, range(LOG_PAGE * 2 + 7, LOG_PAGE * 2 + 20))
        rest = await _read(subscription, LOG_PAGE * 2 + 20 - len(first_page))
        texts = [e.data["text"] for e in first_page] + rest
        assert texts == [str(n) for n in range(LOG_PAGE * 2 + 20)]
    finally:
        await services.hub.release(subscription)


async def test_resuming_after_an_id_and_replaying_only(services: Services) -> None:
    session_id = f"ses_{uuid.uuid4().hex}"
    ids = await _append(services, session_id, range(LOG_PAGE + 50))
    replay = await services.hub.open(session_id, ids[9], live=False)
    texts: list[str] = []
    while True:
        texts += [e.data["text"] for e in await replay.next(wait=False)]
        if not replay.resync:
            break
    assert texts == [str(n) for n in range(10, LOG_PAGE + 50)]
    assert await replay.next(wait=False) == []


async def test_events_appended_while_pubsub_is_down_are_not_lost(
    services: Services, settings: Settings
) -> None:
    session_id = f"ses_{uuid.uuid4().hex}"
    subscription = await services.hub.open(session_id, "0")
    try:
        await _append(services, session_id, range(3))
        assert await _read(subscription, 3) == ["0", "1", "2"]
        # Cut this hub's Pub/Sub connection (only it: others may share this Redis), as a
        # failover or a network blip would.
        connection = services.hub._pubsub.connection
        assert connection is not None and connection._writer is not None
        host, port = connection._writer.get_extra_info("sockname")[:2]
        admin = aioredis.Redis.from_url(settings.redis_url or "")
        killed = await admin.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")  # type: ignore[no-untyped-call]
        assert killed in (b"OK", "OK", True, 1)
        await _append(services, session_id, range(3, 6))
        await admin.aclose()
        assert await _read(subscription, 3) == ["3", "4", "5"]
        await _append(services, session_id, range(6, 8))
        assert await _read(subscription, 2) == ["6", "7"]
    finally:
        await services.hub.release(subscription)
