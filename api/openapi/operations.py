"""The operations: one `Operation` row per endpoint the application serves."""

from __future__ import annotations

from typing import Any

from api.catalog import ENDPOINTS
from api.endpoints import Auth, Operation, Reply
from api.openapi.stream import sse_description, ws_description
from runtime.access import keys
from runtime.transcripts import audio


class Group:
    """The rows of one tag not yet declared beside their handlers (api.endpoints)."""

    def __init__(self, tag: str, auth: Auth, scope: str | None = None) -> None:
        self.tag = tag
        self.auth = auth
        self.scope = scope

    def __call__(
        self, route: str, operation_id: str, summary: str, *replies: Reply, **more: Any
    ) -> Operation:
        method, path = route.split(" ", 1)
        more.setdefault("scope", self.scope)
        return Operation(
            method.lower(), path, operation_id, summary, self.tag, self.auth, replies, **more
        )


def operations() -> list[Operation]:
    ops = (
        *_operations_streams(),
        *_operations_files(),
    )
    return [*ops, *_operations_other(), *(e.operation for e in ENDPOINTS)]


def _operations_other() -> list[Operation]:
    ops = Group("operations", "public")
    page = Group("pages", "public")
    return [
        ops("GET /healthz", "healthz", "Liveness", Reply(200, "The process is up", "Health")),
        ops(
            "GET /readyz",
            "readyz",
            "Readiness of SQL and Redis",
            Reply(200, "SQL and Redis answer", "Ready"),
            Reply(503, "SQL or Redis does not answer", "Ready"),
        ),
        ops(
            "GET /v1/openapi.json",
            "openapi",
            "This OpenAPI document",
            Reply(200, "The OpenAPI 3.1 document", {"type": "object"}),
        ),
        page(
            "GET /i/{share_token}",
            "respondentPage",
            "The respondent page (HTML)",
            Reply(200, "The page; it loads the interview itself", {"type": "string"}, "text/html"),
            description="Served for any token: the page reports an unknown link itself.",
        ),
        Group("operations", "researcher", keys.METRICS_READ)(
            "GET /metrics",
            "metrics",
            "This process's metrics in the Prometheus text format (or OpenMetrics, by Accept)",
            Reply(
                200,
                "Requests by route and status with latency histograms, open streams, turns by "
                "engine and outcome, time to first token, fallbacks, job queue depth and job "
                "outcomes, webhook delivery attempts, rate-limit refusals, process figures",
                {"type": "string"},
                "text/plain",
                also=("application/openmetrics-text",),
            ),
            description="Each process reports its own; scrape every API node (and set "
            "RAPPORT_METRICS_PORT to scrape `rapport worker`s). `docs/metrics.md` lists them.",
        ),
        page(
            "GET /docs",
            "docsPage",
            "This API reference, rendered (HTML; self-hosted, no CDN)",
            Reply(200, "The page; it renders /v1/openapi.json", {"type": "string"}, "text/html"),
        ),
    ]


_INTERVIEW_404 = {404: "No such interview in this workspace"}
_SESSION_404 = {404: "No such session in this workspace"}


def _operations_streams() -> list[Operation]:
    op = Group("streams", "stream", keys.SESSIONS_READ)
    return [
        op(
            "GET /v1/sessions/{id}/events",
            "streamEvents",
            "The session's live events (SSE)",
            Reply(200, "Events until the session ends", {"type": "string"}, "text/event-stream"),
            errors={
                400: "Last-Event-ID (or last_event_id) is not an event id",
                401: "The ticket is malformed, expired or another session's, or the token is "
                "not valid",
                404: "No such session (or not in the API key's workspace)",
            },
            query=("Ticket", "LastEventIdQuery"),
            headers=("LastEventIdHeader",),
            description=sse_description(),
        ),
        op(
            "GET /v1/sessions/{id}/ws",
            "streamWebSocket",
            "The session's live events (WebSocket)",
            Reply(101, "Switching Protocols: the WebSocket is open"),
            query=("Ticket", "LastEventIdQuery"),
            description=ws_description(),
            websocket=True,
        ),
    ]


_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _operations_files() -> list[Operation]:
    op = Group("sessions", "researcher", keys.SESSIONS_READ)
    public = Group("sessions", "public")
    # With an API key (rather than the session token) it needs sessions:write.
    either = Group("sessions", "session", keys.SESSIONS_WRITE)
    return [
        op(
            "GET /v1/sessions/{id}/transcript",
            "getTranscript",
            "Get a session's transcript (JSON, plain text or Markdown)",
            Reply(
                200,
                "The transcript: JSON with messages and question → answer turns; with "
                "format=txt or md, the same as a readable document",
                "Transcript",
                also=("text/plain", "text/markdown"),
            ),
            errors=_SESSION_404,
            query=("TranscriptFormat",),
        ),
        either(
            "PUT /v1/sessions/{id}/audio",
            "uploadAudio",
            "Attach the session's audio recording (replaces an earlier one)",
            Reply(201, "The stored recording: detected content type and duration", "Audio"),
            errors={
                **_SESSION_404,
                401: "No API key or session token, or the token is not this session's",
                400: "The body is empty, or not audio in one of: "
                + ", ".join(ext for _, ext in audio.FORMATS.values()),
                413: "The recording is over the deployment's audio limit (payload_too_large)",
            },
            upload=tuple(kind for kind, _ in audio.FORMATS.values()),
            description="Send the recording's bytes as the body, with the session's own token "
            "(the respondent's browser, CORS-enabled) or an API key of its workspace. The "
            "format is detected from the bytes (WebM/Opus as browsers record it, Ogg, MP3, "
            "WAV), not the Content-Type header.",
        ),
        op(
            "GET /v1/sessions/{id}/pdf",
            "getSessionPdf",
            "The transcript as a PDF (rendered by a worker, cached until the transcript changes)",
            Reply(200, "The PDF", _BINARY, "application/pdf"),
            Reply(202, "Being rendered: ask again after Retry-After seconds", "PdfRendering"),
            Reply(
                424,
                "The render failed (no font to draw with on the worker, or a crash): the "
                "reason says why; asked again a minute later, it is tried again",
                "PdfFailed",
            ),
            errors=_SESSION_404,
            description="The PDF shows the interview title, the session's metadata, the "
            "respondent (unless the interview is anonymous), every message with its role and "
            "time, and page numbers; CJK, Arabic, Hebrew and emoji included. It is cached under "
            "the transcript's fingerprint: a new message (or a changed title) makes the next "
            "request render it again. A character no font on the worker draws is shown as "
            "U+FFFD (�), and a note under the metadata says so (docs/pdf.md).",
        ),
        op(
            "GET /v1/sessions/{id}/files",
            "listSessionFiles",
            "The session's files with signed download links",
            Reply(200, "Transcript (txt, md), the PDF once rendered and current, audio", "Files"),
            errors=_SESSION_404,
        ),
        public(
            "GET /v1/blobs/{key}",
            "downloadBlob",
            "Download a file through a signed link (local blob store)",
            Reply(
                200,
                "The file, with its own content type",
                _BINARY,
                "application/octet-stream",
                also=(
                    "text/plain",
                    "text/markdown",
                    "application/pdf",
                    "application/zip",
                    "application/json",
                    *(kind for kind, _ in audio.FORMATS.values()),
                ),
            ),
            errors={
                403: "The link was altered or has expired",
                404: "The file no longer exists",
            },
            query=("BlobExpires", "BlobSignature", "BlobFilename"),
            description="The links /files and exports hand out when the deployment keeps files "
            "in its local directory; with S3 they point at the bucket instead. The response has "
            "the file's own content type.",
        ),
    ]
