"""The webhook schemas: endpoints, deliveries, and the events they carry."""

from __future__ import annotations

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
from runtime.webhooks import endpoints as webhooks
from runtime.webhooks import outbox as webhook_outbox


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
                "status": enum(webhook_outbox.DELIVERY_STATUSES),
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
