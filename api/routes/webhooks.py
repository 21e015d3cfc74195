"""Researcher endpoints for webhooks: CRUD, a test delivery, the delivery log, redelivery."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import UNSET, UnsetType
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.validation import Bool, Str, StrList
from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.webhooks import address, outbox
from runtime.webhooks import delivery as webhook_delivery
from runtime.webhooks import endpoints as webhooks

_EVENTS = StrList(len(webhooks.EVENTS), Str(60, enum=webhooks.EVENTS), min_items=1, nullable=False)
_URL = Str(address.MAX_URL_LENGTH, 1, pattern="^https?://[^/?#]+", pattern_says="an http(s) URL")


class WebhookUpdate(Fields):
    """A webhook's settings; PATCH changes only the fields given."""

    url: Annotated[str | UnsetType, _URL] = UNSET
    events: Annotated[list[str] | UnsetType, _EVENTS] = UNSET
    description: Annotated[str | UnsetType | None, Str(500, nullable=True)] = UNSET
    enabled: Annotated[bool | UnsetType, Bool()] = UNSET


class WebhookCreate(WebhookUpdate, kw_only=True):
    url: Annotated[str, _URL]
    events: Annotated[list[str], _EVENTS]

    examples: ClassVar[dict[str, Any]] = {
        "sessions": {
            "url": "https://example.com/hooks/rapport",
            "events": ["session.completed", "session.abandoned"],
            "description": "CRM sync",
        }
    }


_WEBHOOK_404 = {404: "No such webhook in this workspace"}
_SCHEDULE = ", ".join(
    f"{int(step.total_seconds() // 60)} min"
    if step.total_seconds() < 3600
    else f"{int(step.total_seconds() // 3600)} h"
    for step in webhooks.RETRY_SCHEDULE
)
DELIVERY = (
    "Deliveries are POSTs of `{type, timestamp, data}` signed per Standard Webhooks "
    "(`webhook-id`, `webhook-timestamp`, `webhook-signature`; verify with the secret returned "
    f"at creation). Any 2xx answer is success; anything else, a timeout or a refused address "
    f"is retried after {_SCHEDULE}; then the delivery has failed. After "
    f"{webhooks.DISABLE_AFTER} failed deliveries in a row the webhook is disabled; enabling it "
    "again resets the count. Redirects are not followed. URLs resolving to loopback, private, "
    "link-local or other non-public addresses are refused unless the deployment allows them. "
    "`session.deleted` (a session was erased) carries ids only: `{session_id, interview_id, "
    "erased_by}`; the erased session's earlier deliveries keep their log, with `data` "
    'replaced by `{"redacted": true}`, and those not sent yet are failed, never sent.'
)


op = Group("webhooks", "researcher", keys.WEBHOOKS_MANAGE)


@op(
    "POST /v1/webhooks",
    "createWebhook",
    "Create a webhook (its signing secret is in this response only)",
    Reply(201, "The webhook and its secret", webhooks.WebhookCreated),
    errors={
        400: "The body is not valid, or url is not http(s) or points at a non-public address",
        409: "The workspace has as many webhooks as it may",
    },
    body=WebhookCreate,
    description=DELIVERY,
)
async def create(call: Call[WebhookCreate]) -> Response:
    request, principal = call.request, call.key
    fields = (await call.body()).given()
    services = services_of(request)
    created = await webhooks.create(services.db, services.settings, principal.workspace_id, fields)
    return Json(created, status_code=201)


@op(
    "GET /v1/webhooks",
    "listWebhooks",
    "List webhooks, newest first",
    Reply(200, "One page of webhooks", ListOf(webhooks.Webhook)),
    query=(params.LIMIT, params.CURSOR),
)
async def list_(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    items = await webhooks.list_page(
        services_of(request).db,
        principal.workspace_id,
        call.query(params.CURSOR),
        call.query(params.LIMIT),
    )
    return page(items)


@op(
    "GET /v1/webhooks/{id}",
    "getWebhook",
    "Get a webhook",
    Reply(200, "The webhook", webhooks.Webhook),
    errors=_WEBHOOK_404,
)
async def get(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    view = await webhooks.get(services_of(request).db, principal.workspace_id, call.path["id"])
    return Json(view)


@op(
    "PATCH /v1/webhooks/{id}",
    "updateWebhook",
    "Update a webhook (only the fields given); enabling it resets its failure count",
    Reply(200, "The webhook", webhooks.Webhook),
    errors=_WEBHOOK_404,
    body=WebhookUpdate,
)
async def update(call: Call[WebhookUpdate]) -> Response:
    request, principal = call.request, call.key
    fields = (await call.body()).given()
    services = services_of(request)
    view = await webhooks.update_fields(
        services.db, services.settings, principal.workspace_id, call.path["id"], fields
    )
    return Json(view)


@op(
    "DELETE /v1/webhooks/{id}",
    "deleteWebhook",
    "Delete a webhook and its delivery log",
    Reply(204, "Deleted"),
    errors=_WEBHOOK_404,
)
async def delete(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    await webhooks.delete(services_of(request).db, principal.workspace_id, call.path["id"])
    return Response(status_code=204)


@op(
    "POST /v1/webhooks/{id}/test",
    "testWebhook",
    "Send a webhook.test event now, once, and see how it went",
    Reply(200, "The test delivery, attempted", outbox.WebhookDelivery),
    errors=_WEBHOOK_404,
    description="Sent even to a disabled webhook; it does not count towards "
    "disabling or re-enable it.",
)
async def test(call: Call[None]) -> Response:
    """Sends a webhook.test event now and answers with how it went."""
    request, principal = call.request, call.key
    services = services_of(request)
    webhook_id = call.path["id"]
    delivery_id = await outbox.queue_test(services.db, principal.workspace_id, webhook_id)
    now = utcnow()
    if await webhook_delivery.claim(services.db, delivery_id, now):
        await webhook_delivery.attempt(
            services.db, services.webhooks, services.settings.secret_key, delivery_id, now
        )
    view = await outbox.get_delivery(services.db, principal.workspace_id, webhook_id, delivery_id)
    return Json(view)


@op(
    "GET /v1/webhooks/{id}/deliveries",
    "listWebhookDeliveries",
    "The delivery log, newest first",
    Reply(200, "One page of deliveries", ListOf(outbox.WebhookDelivery)),
    errors=_WEBHOOK_404,
    query=(params.LIMIT, params.CURSOR, params.DELIVERY_STATUS),
)
async def deliveries(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    items = await outbox.list_deliveries(
        services_of(request).db,
        principal.workspace_id,
        call.path["id"],
        call.query(params.DELIVERY_STATUS),
        call.query(params.CURSOR),
        call.query(params.LIMIT),
    )
    return page(items)


@op(
    "POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    "redeliverWebhookDelivery",
    "Deliver a message again (same webhook-id), as a new delivery",
    Reply(202, "The new delivery, queued", outbox.WebhookDelivery),
    errors={404: "No such delivery of this webhook in this workspace"},
)
async def redeliver(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    db = services_of(request).db
    webhook_id = call.path["id"]
    delivery_id = await outbox.redeliver(
        db, principal.workspace_id, webhook_id, call.path["delivery_id"]
    )
    view = await outbox.get_delivery(db, principal.workspace_id, webhook_id, delivery_id)
    return Json(view, status_code=202)


endpoints = op.endpoints
