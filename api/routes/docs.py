"""The OpenAPI document, describing this deployment, and the page at /docs that renders it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from api import openapi
from api.auth import services_of
from api.responses import Json
from api.routes.pages import STATIC


async def openapi_json(request: Request) -> Response:
    settings = services_of(request).settings
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return Json(openapi.document(settings, base))


async def docs_page(request: Request) -> Response:
    return FileResponse(STATIC / "docs" / "index.html", headers={"cache-control": "no-cache"})


routes = [
    Route("/v1/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
]
