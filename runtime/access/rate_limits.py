"""Rate limits on Redis (fixed windows, via `limits`): per API key plan, per client address,
per respondent session, and session starts per address.

With Redis unreachable the limiter fails open: requests go through uncounted (logged), so
that reads SQL can answer still work; the endpoints that need Redis answer 503 themselves.
After a failure it does not ask Redis again for FAIL_OPEN_SECONDS, so a frozen Redis costs
each request one timeout at most (in its own call), not one more here.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.platform import metrics
from runtime.platform.errors import ConfigurationError, RateLimited
from runtime.platform.settings import Settings
from runtime.stores import redis_keys

log = structlog.get_logger(__name__)
FAIL_OPEN_SECONDS = 5.0


@dataclass(frozen=True)
class Quota:
    """Where one caller stands in its current window; what the X-RateLimit-* headers say."""

    limit: int
    remaining: int
    reset: int  # unix seconds
    allowed: bool
    window: int  # seconds

    @property
    def retry_after(self) -> int:
        # Redis reports whole seconds of TTL: never claim more than one window.
        return min(self.window, max(1, math.ceil(self.reset - time.time())))


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        # One Redis pool for the whole process: the limiter borrows the services' pool.
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=redis_keys.RATE_LIMIT_PREFIX,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = FixedWindowRateLimiter(storage)
        self.plans = {name: _item(name, raw) for name, raw in settings.rate_limit_plans}
        self.public = _item("public", settings.public_rate_limit)
        self.session = _item("session", settings.session_rate_limit)
        self.starts = _item("session starts", settings.session_start_rate_limit)
        self._open_until = 0.0  # monotonic: until then, requests pass uncounted

    async def forget_session(self, session_id: str) -> None:
        """Drop an erased session's counter (its key names the session)."""
        with contextlib.suppress(RedisError):
            await self._limiter.clear(self.session, "session", session_id)

    def plan(self, name: str) -> RateLimitItem:
        # A key whose plan the operator has since removed falls back to the default plan.
        return self.plans.get(name) or self.plans["default"]

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Quota:
        """Count one request; with Redis unreachable, let it through uncounted (fail open)."""
        if time.monotonic() < self._open_until:
            return _uncounted(item)
        try:
            allowed = await self._limiter.hit(item, *identifiers)
            stats = await self._limiter.get_window_stats(item, *identifiers)
        except RedisError as exc:
            self._open_until = time.monotonic() + FAIL_OPEN_SECONDS
            log.warning(
                "ratelimit.failing_open", error=str(exc), retry_in_seconds=FAIL_OPEN_SECONDS
            )
            return _uncounted(item)
        if not allowed:
            metrics.rate_limited(identifiers[0] if identifiers else "unnamed")
        reset = math.ceil(stats.reset_time)
        return Quota(item.amount, stats.remaining, reset, allowed, item.get_expiry())


def _uncounted(item: RateLimitItem) -> Quota:
    """A request let through while Redis cannot count it: the headers show a full window."""
    window = item.get_expiry()
    return Quota(item.amount, item.amount, math.ceil(time.time()) + window, True, window)


def exceeded(item: RateLimitItem, quota: Quota) -> RateLimited:
    return RateLimited(
        f"rate limit of {item} exceeded; retry in {quota.retry_after} s",
    )


def _item(name: str, raw: str) -> RateLimitItem:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"rate limit {name}={raw!r} is not a limit like 600/minute"
        ) from exc
