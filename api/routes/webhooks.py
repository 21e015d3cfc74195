"""Researcher endpoints for webhooks: CRUD, a test delivery, the delivery log, redelivery."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json, page
from api.routes import params
from api.validation import Body, Bool, Obj, Str, StrList, parse
from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.webhooks import address, outbox
from runtime.webhooks import delivery as webhook_delivery
from runtime.webhooks import endpoints as webhooks

_EVENTS = StrList(len(webhooks.EVENTS), Str(60, enum=webhooks.EVENTS), min_items=1, nullable=False)
_FIELDS: dict[str, Any] = {
    "url": Str(
        address.MAX_URL_LENGTH,
        1,
        pattern="^https?://[^/?#]+",
        pattern_says="an http(s) URL",
    ),
    "events": _EVENTS,
    "description": Str(500, nullable=True),
    "enabled": Bool(),
}
WEBHOOK_CREATE = Body(
    "WebhookCreate",
    Obj(_FIELDS, required=("url", "events")),
    examples={
        "sessions": {
            "url": "https://example.com/hooks/rapport",
            "events": ["session.completed", "session.abandoned"],
            "description": "CRM sync",
        }
    },
)
WEBHOOK_UPDATE = Body("WebhookUpdate", Obj(_FIELDS))


async def create(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    fields = await parse(request, WEBHOOK_CREATE)
    services = services_of(request)
    view, secret = await webhooks.create(
        services.db, services.settings, principal.workspace_id, fields
    )
    return Json({**view, "secret": secret}, status_code=201)


async def list_(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    items, cursor = await webhooks.list_page(
        services_of(request).db,
        principal.workspace_id,
        request.query_params.get("cursor"),
        params.limit(request),
    )
    return page(items, cursor)


async def get(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    view = await webhooks.get(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Json(view)


async def update(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    fields = await parse(request, WEBHOOK_UPDATE)
    services = services_of(request)
    view = await webhooks.update_fields(
        services.db, services.settings, principal.workspace_id, request.path_params["id"], fields
    )
    return Json(view)


async def delete(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    await webhooks.delete(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Response(status_code=204)


async def test(request: Request) -> Response:
    """Sends a webhook.test event now and answers with how it went."""
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    services = services_of(request)
    webhook_id = request.path_params["id"]
    delivery_id = await outbox.queue_test(services.db, principal.workspace_id, webhook_id)
    now = utcnow()
    if await webhook_delivery.claim(services.db, delivery_id, now):
        await webhook_delivery.attempt(
            services.db, services.webhooks, services.settings.secret_key, delivery_id, now
        )
    view = await outbox.get_delivery(services.db, principal.workspace_id, webhook_id, delivery_id)
    return Json(view)


async def deliveries(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    items, cursor = await outbox.list_deliveries(
        services_of(request).db,
        principal.workspace_id,
        request.path_params["id"],
        params.choice(request, "status", outbox.DELIVERY_STATUSES),
        request.query_params.get("cursor"),
        params.limit(request),
    )
    return page(items, cursor)


async def redeliver(request: Request) -> Response:
    principal = await researcher(request, keys.WEBHOOKS_MANAGE)
    db = services_of(request).db
    webhook_id = request.path_params["id"]
    delivery_id = await outbox.redeliver(
        db, principal.workspace_id, webhook_id, request.path_params["delivery_id"]
    )
    view = await outbox.get_delivery(db, principal.workspace_id, webhook_id, delivery_id)
    return Json(view, status_code=202)


routes = [
    Route("/v1/webhooks", create, methods=["POST"]),
    Route("/v1/webhooks", list_, methods=["GET"]),
    Route("/v1/webhooks/{id}", get, methods=["GET"]),
    Route("/v1/webhooks/{id}", update, methods=["PATCH"]),
    Route("/v1/webhooks/{id}", delete, methods=["DELETE"]),
    Route("/v1/webhooks/{id}/test", test, methods=["POST"]),
    Route("/v1/webhooks/{id}/deliveries", deliveries, methods=["GET"]),
    Route("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", redeliver, methods=["POST"]),
]
