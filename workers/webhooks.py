"""Webhook delivery: a periodic pass that sends every due delivery (first tries and retries)."""

from __future__ import annotations

import asyncio

import structlog

from runtime.services import Services
from runtime.webhooks import delivery as webhook_delivery
from workers import periodic

log = structlog.get_logger(__name__)


async def deliver_once(services: Services) -> int:
    return await webhook_delivery.deliver_due(
        services.db, services.webhooks, services.settings.secret_key
    )


async def _pass(services: Services) -> None:
    sent = await deliver_once(services)
    if sent:
        log.info("webhooks.delivered", attempts=sent)


def _interval(services: Services) -> float:
    return services.settings.webhook_delivery_interval_seconds


async def run(services: Services, stop: asyncio.Event) -> None:
    await periodic.run(services, stop, "webhooks", _pass, _interval(services))


# Deliver beside the API (rapport serve).
start_in_process = periodic.in_process("webhooks", _pass, _interval)
