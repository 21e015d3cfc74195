"""Sending webhook deliveries: signing, one attempt, and the pass over due ones."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from sqlalchemy import or_, select, update
from standardwebhooks import Webhook

from runtime.platform import metrics
from runtime.platform.clock import iso, utcnow
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from runtime.webhooks import address as guard
from runtime.webhooks import endpoints as webhooks

log = structlog.get_logger(__name__)
w = webhooks.w
d = webhooks.d
# How long a claimed delivery is ours: past every timeout, so a dead worker's claim lapses.
_CLAIM = timedelta(minutes=2)
_BATCH = 50
_CONCURRENCY = 10


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    """Posts signed deliveries; one HTTP client per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # No redirects (a 3xx is a failure), no proxies from the environment, tight timeouts.
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await guard.resolve(host, port, self.settings.webhook_allow_private)
        except guard.Refused as exc:
            return Outcome(None, elapsed(), str(exc))
        request_headers = {**headers, "host": parts.netloc.rpartition("@")[2]}
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                for n, address in enumerate(addresses):
                    literal = f"[{address}]" if ":" in address else address
                    target = urlunsplit(
                        (parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, "")
                    )
                    request = self.client.build_request(
                        "POST", target, headers=request_headers, content=body, extensions=extensions
                    )
                    try:
                        response = await self.client.send(request, stream=True)
                        break
                    except httpx.ConnectError:
                        # The next checked address of the same name, as a browser would.
                        if n == len(addresses) - 1:
                            raise
                try:
                    # Only a little of the answer is read: receivers have nothing to tell us.
                    seen = 0
                    async for chunk in response.aiter_raw():
                        seen += len(chunk)
                        if seen >= self.settings.webhook_max_response_bytes:
                            break
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(None, elapsed(), "timed out")
        except httpx.HTTPError as exc:
            return Outcome(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500])
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return Outcome(response.status_code, elapsed(), error)


def sign(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers; the timestamp is the real time of sending."""
    now = utcnow()
    signature = Webhook(secret).sign(message_id, now, body.decode())
    return {
        "content-type": "application/json",
        "user-agent": "Rapport-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


async def attempt(
    db: Database, sender: Sender, secret_key: str, delivery_id: str, now: datetime
) -> Outcome | None:
    """One attempt at a delivery this process has claimed; records it and schedules the next."""
    async with db.connect() as conn:
        found = (
            await conn.execute(
                select(d, w.c.url, w.c.secret_salt)
                .join(w, w.c.id == d.c.webhook_id)
                .where(d.c.id == delivery_id)
            )
        ).first()
    if found is None or found.status != "pending":
        return None  # its webhook was deleted meanwhile, or its session erased
    body = json.dumps(found.payload, separators=(",", ":"), ensure_ascii=False).encode()
    secret = webhooks.signing_secret(secret_key, found.webhook_id, found.secret_salt)
    outcome = await sender.post(found.url, sign(secret, found.event_id, body), body)
    number = found.attempts + 1
    entry = {
        "attempt": number,
        "at": iso(now),
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
    }
    values: dict[str, Any] = {
        "attempts": number,
        "claimed_until": None,
        "last_status_code": outcome.status_code,
        "last_latency_ms": outcome.latency_ms,
        "last_error": outcome.error,
        "log": [*found.log, entry],
        "updated_at": utcnow(),
    }
    # A test delivery is tried once and counts neither way towards disabling the webhook.
    test = found.event_type == webhooks.TEST_EVENT
    retry = not outcome.ok and not test and number <= len(webhooks.RETRY_SCHEDULE)
    if outcome.ok:
        values.update(status="succeeded", next_attempt_at=None)
    elif retry:
        values.update(next_attempt_at=now + webhooks.RETRY_SCHEDULE[number - 1])
    else:
        values.update(status="failed", next_attempt_at=None)
    async with db.begin() as conn:
        # Still pending: its session may have been erased while it was being sent, which
        # failed it for good (outbox.redact_session); that stays so.
        recorded = await conn.execute(
            update(d).where(d.c.id == delivery_id, d.c.status == "pending").values(**values)
        )
        # A test delivery (or one failed by an erasure meanwhile) counts neither way.
        if recorded.rowcount != 1 or test:
            pass
        elif outcome.ok:
            await conn.execute(
                update(w).where(w.c.id == found.webhook_id).values(consecutive_failures=0)
            )
        elif not retry:
            await _count_failure(conn, found.webhook_id)
    counted: metrics.DeliveryOutcome = (
        "succeeded" if outcome.ok else "retrying" if retry else "failed"
    )
    metrics.WEBHOOK_DELIVERIES.labels(counted).inc()
    return outcome


async def _count_failure(conn: Any, webhook_id: str) -> None:
    await conn.execute(
        update(w)
        .where(w.c.id == webhook_id)
        .values(consecutive_failures=w.c.consecutive_failures + 1)
    )
    disabled = await conn.execute(
        update(w)
        .where(
            w.c.id == webhook_id,
            w.c.enabled.is_(True),
            w.c.consecutive_failures >= webhooks.DISABLE_AFTER,
        )
        .values(
            enabled=False,
            disabled_reason=f"{webhooks.DISABLE_AFTER} deliveries in a row failed",
            updated_at=utcnow(),
        )
    )
    if disabled.rowcount:
        log.warning("webhook.disabled", webhook_id=webhook_id)


async def claim(db: Database, delivery_id: str, now: datetime) -> bool:
    """Take a due delivery for this process; a conditional UPDATE, so exactly one wins."""
    async with db.begin() as conn:
        result = await conn.execute(
            update(d)
            .where(
                d.c.id == delivery_id,
                d.c.status == "pending",
                or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
            )
            .values(claimed_until=now + _CLAIM)
        )
    return bool(result.rowcount == 1)


async def deliver_due(
    db: Database, sender: Sender, secret_key: str, now: datetime | None = None
) -> int:
    """Attempts every delivery due at `now` (the clock is a parameter so tests can move it)."""
    now = now or utcnow()
    async with db.connect() as conn:
        due = [
            r.id
            for r in await conn.execute(
                select(d.c.id)
                .join(w, w.c.id == d.c.webhook_id)
                .where(
                    d.c.status == "pending",
                    d.c.next_attempt_at <= now,
                    w.c.enabled.is_(True),
                    or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
                )
                .order_by(d.c.next_attempt_at)
                .limit(_BATCH)
            )
        ]
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(delivery_id: str) -> int:
        async with gate:
            if not await claim(db, delivery_id, now):
                return 0
            await attempt(db, sender, secret_key, delivery_id, now)
            return 1

    return sum(await asyncio.gather(*(one(i) for i in due)))
