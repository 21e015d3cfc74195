"""The OpenAPI document, describing this deployment."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import openapi
from api.auth import services_of
from api.responses import Json


async def openapi_json(request: Request) -> Response:
    settings = services_of(request).settings
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return Json(openapi.document(settings, base))


routes = [
    Route("/v1/openapi.json", openapi_json, methods=["GET"]),
]
