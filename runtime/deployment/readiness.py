"""Whether this process can serve now: each store answers a real, bounded probe in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, Protocol, cast

from redis.asyncio import Redis

from runtime.engines import upstream as llm_upstream
from runtime.engines.upstream import UpstreamProbe
from runtime.platform.settings import Settings
from runtime.platform.views import Meta, View
from runtime.stores import database


class ReadinessParts(Protocol):
    """What a readiness check needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: database.Database
    redis: Redis
    llm_upstream: UpstreamProbe


Probe = Callable[[ReadinessParts, float], Awaitable[None]]


_CHECK = Meta(description="ok, or error: <type>")


# One field per probe (PROBES).
class ReadyChecks(View):
    sql: Annotated[str, _CHECK]
    redis: Annotated[str, _CHECK]


class ReadyDetail(View):
    llm: Annotated[
        str,
        Meta(
            description="The LLM interviewer's upstream: ok, not configured: <fix>, "
            "unreachable: <base URL> (<why>), or not checked yet. Not a check: it never "
            "makes the node unavailable"
        ),
    ]


class Ready(View):
    status: Literal["ready", "unavailable"]
    checks: ReadyChecks
    # Reported, never failing readiness: an LLM that does not answer must not take the node
    # out of rotation (its interviews fall back to the script).
    detail: ReadyDetail

    @property
    def ready(self) -> bool:
        return self.status == "ready"


async def _sql(services: ReadinessParts, seconds: float) -> None:
    # The lock wait gets half the bound, so a locked table is reported as such, in time.
    await database.probe(services.db, seconds / 2)


async def _redis(services: ReadinessParts, seconds: float) -> None:
    await cast(Awaitable[Any], services.redis.ping())


PROBES: dict[str, Probe] = {"sql": _sql, "redis": _redis}


async def check(services: ReadinessParts) -> Ready:
    """Every probe at once, each within ready_timeout_seconds: the answer never takes longer."""
    seconds = services.settings.ready_timeout_seconds
    names = list(PROBES)
    results = await asyncio.gather(*(_run(PROBES[n], services, seconds) for n in names))
    checks = dict(zip(names, results, strict=True))
    return Ready(
        status="ready" if all(r == "ok" for r in results) else "unavailable",
        checks=ReadyChecks(**checks),
        detail=ReadyDetail(llm=llm_upstream.summary(services.llm_upstream.peek())),
    )


async def _run(probe: Probe, services: ReadinessParts, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe(services, seconds)
    except TimeoutError:
        return f"error: no answer within {seconds:g} s"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
