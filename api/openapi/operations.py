"""The operations: one `Operation` row per endpoint the application serves."""

from __future__ import annotations

from typing import Any

from api.catalog import ENDPOINTS
from api.endpoints import Auth, Operation, Reply
from api.openapi.stream import sse_description, ws_description
from runtime.access import keys


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
    ops = (*_operations_streams(),)
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
