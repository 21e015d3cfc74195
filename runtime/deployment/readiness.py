"""Whether this process can serve now: each store answers a real, bounded probe in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from redis.asyncio import Redis

from runtime.engines import upstream as llm_upstream
from runtime.engines.upstream import UpstreamProbe
from runtime.platform.settings import Settings
from runtime.stores import database


class ReadinessParts(Protocol):
    """What a readiness check needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: database.Database
    redis: Redis
    llm_upstream: UpstreamProbe


Probe = Callable[[ReadinessParts, float], Awaitable[None]]


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # name -> "ok" or "error: …"
    # Reported, never failing readiness: an LLM that does not answer must not take the node
    # out of rotation (its interviews fall back to the script).
    detail: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())

    def view(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "unavailable",
            "checks": self.checks,
            "detail": self.detail,
        }


async def _sql(services: ReadinessParts, seconds: float) -> None:
    # The lock wait gets half the bound, so a locked table is reported as such, in time.
    await database.probe(services.db, seconds / 2)


async def _redis(services: ReadinessParts, seconds: float) -> None:
    await cast(Awaitable[Any], services.redis.ping())


PROBES: dict[str, Probe] = {"sql": _sql, "redis": _redis}


async def check(services: ReadinessParts) -> Readiness:
    """Every probe at once, each within ready_timeout_seconds: the answer never takes longer."""
    seconds = services.settings.ready_timeout_seconds
    names = list(PROBES)
    results = await asyncio.gather(*(_run(PROBES[n], services, seconds) for n in names))
    detail = {"llm": llm_upstream.summary(services.llm_upstream.peek())}
    return Readiness(dict(zip(names, results, strict=True)), detail)


async def _run(probe: Probe, services: ReadinessParts, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe(services, seconds)
    except TimeoutError:
        return f"error: no answer within {seconds:g} s"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
