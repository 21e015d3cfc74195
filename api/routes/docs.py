"""The OpenAPI document, describing this deployment, and the page at /docs that renders it."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from api import openapi
from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from api.routes.pages import STATIC

ops = Group("operations", "public")
page = Group("pages", "public")


@ops(
    "GET /v1/openapi.json",
    "openapi",
    "This OpenAPI document",
    Reply(200, "The OpenAPI 3.1 document", {"type": "object"}),
)
async def openapi_json(call: Call[None]) -> Response:
    request = call.request
    settings = services_of(request).settings
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    # The app's own catalog (api.app keeps it): this module is in it, so cannot import it.
    return Json(openapi.document(settings, base, request.app.state.endpoints))


@page(
    "GET /docs",
    "docsPage",
    "This API reference, rendered (HTML; self-hosted, no CDN)",
    Reply(200, "The page; it renders /v1/openapi.json", {"type": "string"}, "text/html"),
)
async def docs_page(call: Call[None]) -> Response:
    return FileResponse(STATIC / "docs" / "index.html", headers={"cache-control": "no-cache"})


endpoints = [*ops.endpoints, *page.endpoints]
