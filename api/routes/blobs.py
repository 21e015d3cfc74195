"""Downloads from the local blob store through the URLs it signs (S3 serves its own)."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse

from api.auth import services_of
from api.endpoints import BINARY, Call, Group, Reply
from api.routes import params
from runtime.platform.errors import NotFound
from runtime.stores.blobs.local import verify_signature
from runtime.transcripts import artifacts, audio

public = Group("sessions", "public")


@public(
    "GET /v1/blobs/{key:path}",
    "downloadBlob",
    "Download a file through a signed link (local blob store)",
    Reply(
        200,
        "The file, with its own content type",
        BINARY,
        "application/octet-stream",
        also=(
            "text/plain",
            "text/markdown",
            "application/pdf",
            "application/zip",
            "application/json",
            *(kind for kind, _ in audio.FORMATS.values()),
            *artifacts.CAPTION_FORMATS.values(),
        ),
    ),
    errors={
        403: "The link was altered or has expired",
        404: "The file no longer exists",
    },
    query=(params.BLOB_EXPIRES, params.BLOB_SIGNATURE, params.BLOB_FILENAME),
    description="The links /files and exports hand out when the deployment keeps files "
    "in its local directory; with S3 they point at the bucket instead. The response has "
    "the file's own content type.",
)
async def download(call: Call[None]) -> Response:
    request = call.request
    services = services_of(request)
    key = call.path["key"]
    filename = call.query(params.BLOB_FILENAME) or ""
    expires, signature = call.query(params.BLOB_EXPIRES), call.query(params.BLOB_SIGNATURE)
    verify_signature(services.settings.secret_key, key, expires or "", filename, signature or "")
    info = await services.blobs.info(key)
    if info is None:
        raise NotFound("this file no longer exists")
    headers = {"content-length": str(info.size), "cache-control": "private, no-store"}
    if filename:
        headers["content-disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        services.blobs.stream(key), media_type=info.content_type, headers=headers
    )


endpoints = public.endpoints
