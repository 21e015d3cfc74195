"""Liveness and readiness for orchestrators."""

from __future__ import annotations

from typing import Literal

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from runtime.deployment import readiness
from runtime.platform.views import View


class Health(View):
    status: Literal["ok"] = "ok"


ops = Group("operations", "public")


@ops("GET /healthz", "healthz", "Liveness", Reply(200, "The process is up", Health))
async def healthz(call: Call[None]) -> Response:
    return Json(Health())


@ops(
    "GET /readyz",
    "readyz",
    "Readiness of SQL and Redis",
    Reply(200, "SQL and Redis answer", readiness.Ready),
    Reply(503, "SQL or Redis does not answer", readiness.Ready),
)
async def readyz(call: Call[None]) -> Response:
    result = await readiness.check(services_of(call.request))
    return Json(result, 200 if result.ready else 503)


endpoints = ops.endpoints
