"""The Redis hub across a lost Pub/Sub connection (its contract: test_live_contract.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

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
