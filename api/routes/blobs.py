"""Downloads from the local blob store through the URLs it signs (S3 serves its own)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.auth import services_of
from runtime.platform.errors import NotFound
from runtime.stores.blobs.local import verify_signature


async def download(request: Request) -> Response:
    services = services_of(request)
    key = request.path_params["key"]
    query = request.query_params
    filename = query.get("filename", "")
    verify_signature(
        services.settings.secret_key, key, query.get("expires", ""), filename, query.get("sig", "")
    )
    info = await services.blobs.info(key)
    if info is None:
        raise NotFound("this file no longer exists")
    headers = {"content-length": str(info.size), "cache-control": "private, no-store"}
    if filename:
        headers["content-disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        services.blobs.stream(key), media_type=info.content_type, headers=headers
    )


routes = [Route("/v1/blobs/{key:path}", download, methods=["GET"])]
