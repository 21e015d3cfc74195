"""The webhook schemas and operations: endpoints, deliveries, and the events they carry."""

from __future__ import annotations

from api.endpoints import Operation, Reply
from api.openapi.operations import Group
from api.openapi.schemas import (
    Schema,
    array,
    boolean,
    enum,
    integer,
    obj,
    page_of,
    string,
    timestamp,
)
from api.routes import webhooks as webhook_routes
from runtime.access import keys
from runtime.webhooks import endpoints as webhooks

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


def webhook_operations() -> list[Operation]:
    op = Group("webhooks", "researcher", keys.WEBHOOKS_MANAGE)
    return [
        op(
            "POST /v1/webhooks",
            "createWebhook",
            "Create a webhook (its signing secret is in this response only)",
            Reply(201, "The webhook and its secret", "WebhookCreated"),
            errors={
                400: "The body is not valid, or url is not http(s) or points at a non-public "
                "address",
                409: "The workspace has as many webhooks as it may",
            },
            body=webhook_routes.WEBHOOK_CREATE,
            description=DELIVERY,
        ),
        op(
            "GET /v1/webhooks",
            "listWebhooks",
            "List webhooks, newest first",
            Reply(200, "One page of webhooks", "WebhookList"),
            query=("Limit", "Cursor"),
        ),
        op(
            "GET /v1/webhooks/{id}",
            "getWebhook",
            "Get a webhook",
            Reply(200, "The webhook", "Webhook"),
            errors=_WEBHOOK_404,
        ),
        op(
            "PATCH /v1/webhooks/{id}",
            "updateWebhook",
            "Update a webhook (only the fields given); enabling it resets its failure count",
            Reply(200, "The webhook", "Webhook"),
            errors=_WEBHOOK_404,
            body=webhook_routes.WEBHOOK_UPDATE,
        ),
        op(
            "DELETE /v1/webhooks/{id}",
            "deleteWebhook",
            "Delete a webhook and its delivery log",
            Reply(204, "Deleted"),
            errors=_WEBHOOK_404,
        ),
        op(
            "POST /v1/webhooks/{id}/test",
            "testWebhook",
            "Send a webhook.test event now, once, and see how it went",
            Reply(200, "The test delivery, attempted", "WebhookDelivery"),
            errors=_WEBHOOK_404,
            description="Sent even to a disabled webhook; it does not count towards "
            "disabling or re-enable it.",
        ),
        op(
            "GET /v1/webhooks/{id}/deliveries",
            "listWebhookDeliveries",
            "The delivery log, newest first",
            Reply(200, "One page of deliveries", "WebhookDeliveryList"),
            errors=_WEBHOOK_404,
            query=("Limit", "Cursor", "DeliveryStatus"),
        ),
        op(
            "POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            "redeliverWebhookDelivery",
            "Deliver a message again (same webhook-id), as a new delivery",
            Reply(202, "The new delivery, queued", "WebhookDelivery"),
            errors={404: "No such delivery of this webhook in this workspace"},
        ),
    ]


def webhook_schemas() -> dict[str, Schema]:
    webhook = {
        "id": string(),
        "url": string("Where deliveries are POSTed (an http(s) URL)"),
        "description": string(),
        "events": array(enum(webhooks.EVENTS), "The events this webhook receives"),
        "enabled": boolean("False when disabled by you or after repeated failures"),
        "consecutive_failures": integer(
            f"Failed deliveries in a row; {webhooks.DISABLE_AFTER} disable the webhook",
            minimum=0,
        ),
        "disabled_reason": string("Why it was disabled automatically", nullable=True),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }
    attempt = obj(
        {
            "attempt": integer(minimum=1),
            "at": timestamp(),
            "status_code": integer("The receiver's HTTP status", nullable=True),
            "latency_ms": integer(minimum=0),
            "error": string("Why it failed (refused, timed out, HTTP status)", nullable=True),
        }
    )
    return {
        "Webhook": obj(webhook),
        "WebhookList": page_of("Webhook"),
        "WebhookCreated": obj(
            {
                **webhook,
                "secret": string(
                    "The Standard Webhooks signing secret (whsec_…): shown this once",
                    pattern="^whsec_",
                ),
            }
        ),
        "WebhookDelivery": obj(
            {
                "id": string(),
                "webhook_id": string(),
                "event_id": string("The webhook-id header: the same on every retry"),
                "event_type": enum((*webhooks.EVENTS, webhooks.TEST_EVENT)),
                "status": enum(webhooks.DELIVERY_STATUSES),
                "attempts": integer(minimum=0),
                "next_attempt_at": timestamp("When the next attempt is due", nullable=True),
                "last_status_code": integer(nullable=True),
                "last_latency_ms": integer(nullable=True, minimum=0),
                "last_error": string(nullable=True),
                "log": array(attempt, "Every attempt, oldest first"),
                "payload": obj(
                    {
                        "type": string(),
                        "timestamp": timestamp(),
                        "data": {"type": "object"},
                    },
                    "The JSON body POSTed to the webhook",
                ),
                "created_at": timestamp(),
                "updated_at": timestamp(),
            }
        ),
        "WebhookDeliveryList": page_of("WebhookDelivery"),
    }
