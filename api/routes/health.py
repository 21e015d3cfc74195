"""Liveness and readiness for orchestrators."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import services_of
from api.responses import Json
from runtime import llm_upstream


async def healthz(request: Request) -> Response:
    return Json({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = services_of(request)
    checks: dict[str, str] = {}
    try:
        async with services.db.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["sql"] = "ok"
    except Exception as exc:
        checks["sql"] = f"error: {type(exc).__name__}"
    try:
        await services.redis.execute_command("PING")  # type: ignore[no-untyped-call]
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    # Not a check: an LLM that does not answer must not take the node out of rotation.
    detail = {"llm": llm_upstream.summary(services.llm_upstream.peek())}
    return Json(
        {"status": "ready" if ready else "unavailable", "checks": checks, "detail": detail},
        200 if ready else 503,
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
