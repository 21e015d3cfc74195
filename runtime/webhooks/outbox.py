"""The webhook outbox: the delivery rows an event queues, redelivered, listed and redacted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform.clock import iso, utcnow
from runtime.platform.errors import NotFound
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import pagination
from runtime.stores.database import Database
from runtime.webhooks.endpoints import EVENTS, TEST_EVENT, TestEvent, WebhookEvent, d, owned, w

DeliveryStatus = Literal["pending", "succeeded", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
DeliveredEvent = Literal[WebhookEvent, TestEvent]


class WebhookAttempt(View):
    attempt: Annotated[int, Meta(ge=1)]
    at: Timestamp
    status_code: Annotated[int | None, Meta(description="The receiver's HTTP status")]
    latency_ms: Annotated[int, Meta(ge=0)]
    error: Annotated[
        str | None, Meta(description="Why it failed (refused, timed out, HTTP status)")
    ]


class WebhookPayload(View):
    """What a receiver gets: the event's type, when it happened, and its data."""

    type: DeliveredEvent
    timestamp: Timestamp
    # The event's own fields ({"redacted": true} once its session is erased).
    data: dict[str, Any]


class WebhookDelivery(View):
    id: str
    webhook_id: str
    event_id: Annotated[str, Meta(description="The webhook-id header: the same on every retry")]
    event_type: DeliveredEvent
    status: DeliveryStatus
    attempts: Annotated[int, Meta(ge=0)]
    next_attempt_at: Annotated[Timestamp | None, Meta(description="When the next attempt is due")]
    last_status_code: int | None
    last_latency_ms: Annotated[int, Meta(ge=0)] | None
    last_error: str | None
    log: Annotated[list[WebhookAttempt], Meta(description="Every attempt, oldest first")]
    payload: Annotated[WebhookPayload, Meta(description="The JSON body POSTed to the webhook")]
    created_at: Timestamp
    updated_at: Timestamp


def delivery_view(row: Mapping[str, Any]) -> WebhookDelivery:
    return WebhookDelivery.from_row(
        row,
        # Stored as the JSON they were sent as (timestamps as text): read back as views.
        log=msgspec.convert(row["log"], list[WebhookAttempt]),
        payload=msgspec.convert(row["payload"], WebhookPayload),
    )


def _payload(event_type: str, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"type": event_type, "timestamp": iso(at), "data": dict(data)}


def _delivery(
    webhook_id: str,
    event_id: str,
    payload: dict[str, Any],
    now: datetime,
    session_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("dlv"),
        "webhook_id": webhook_id,
        "event_id": event_id,
        "event_type": payload["type"],
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "last_status_code": None,
        "last_latency_ms": None,
        "last_error": None,
        "log": [],
        "created_at": now,
        "updated_at": now,
        "session_id": session_id,
    }


async def emit(
    conn: AsyncConnection, workspace_id: str, event_type: str, data: Mapping[str, Any]
) -> int:
    """Queue `event_type` for every enabled webhook of the workspace that subscribes to it.

    Called inside the transaction that makes the event true, so the event is queued exactly
    when it happened; nothing is sent here (the delivery pass does that). Returns the number
    of deliveries queued.
    """
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type}")
    hooks = await conn.execute(
        select(w.c.id, w.c.events).where(w.c.workspace_id == workspace_id, w.c.enabled.is_(True))
    )
    targets = [h.id for h in hooks if event_type in h.events]
    if not targets:
        return 0
    now = utcnow()
    payload = _payload(event_type, data, now)
    event_id = new_id("msg")
    session_id = data.get("session_id")
    rows = [_delivery(t, event_id, payload, now, session_id) for t in targets]
    await conn.execute(insert(d), rows)
    return len(targets)


async def queue_test(db: Database, workspace_id: str, webhook_id: str) -> str:
    """A `webhook.test` delivery to this webhook alone, whatever it subscribes to."""
    now = utcnow()
    payload = _payload(TEST_EVENT, {"webhook_id": webhook_id}, now)
    row = _delivery(webhook_id, new_id("msg"), payload, now)
    async with db.begin() as conn:
        await owned(conn, workspace_id, webhook_id)
        await conn.execute(insert(d).values(**row))
    return str(row["id"])


async def _owned_delivery(
    conn: AsyncConnection, workspace_id: str, webhook_id: str, delivery_id: str
) -> Any:
    found = (
        await conn.execute(
            select(d)
            .join(w, w.c.id == d.c.webhook_id)
            .where(
                d.c.id == delivery_id,
                d.c.webhook_id == webhook_id,
                w.c.workspace_id == workspace_id,
            )
        )
    ).first()
    if found is None:
        raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id} in this workspace")
    return found


async def redeliver(db: Database, workspace_id: str, webhook_id: str, delivery_id: str) -> str:
    """A new delivery of the same message (same webhook-id), attempted as soon as possible."""
    async with db.begin() as conn:
        found = await _owned_delivery(conn, workspace_id, webhook_id, delivery_id)
        row = _delivery(found.webhook_id, found.event_id, found.payload, utcnow(), found.session_id)
        await conn.execute(insert(d).values(**row))
    return str(row["id"])


async def get_delivery(
    db: Database, workspace_id: str, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    async with db.connect() as conn:
        found = await _owned_delivery(conn, workspace_id, webhook_id, delivery_id)
    return delivery_view(dict(found._mapping))


async def list_deliveries(
    db: Database,
    workspace_id: str,
    webhook_id: str,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> pagination.Page[WebhookDelivery]:
    async with db.connect() as conn:
        await owned(conn, workspace_id, webhook_id)
        query = select(d).where(d.c.webhook_id == webhook_id)
        if status:
            query = query.where(d.c.status == status)
        rows = await pagination.fetch_page(conn, query, d, cursor, limit)
    return rows.map(delivery_view)


REDACTED = {"redacted": True}
ERASED_BEFORE_SENT = "not sent: the session was erased"


async def redact_session(conn: AsyncConnection, session_id: str) -> int:
    """Strip the session from its deliveries (in the erasing transaction): each keeps its type,
    time, status and attempt log, its data becomes {"redacted": true}; one not sent yet is
    failed instead of sent. Returns how many deliveries changed."""
    found = await conn.execute(
        select(d.c.id, d.c.status, d.c.payload).where(d.c.session_id == session_id)
    )
    rows = found.all()
    now = utcnow()
    for row in rows:
        values: dict[str, Any] = {
            "payload": {**row.payload, "data": REDACTED},
            "session_id": None,
            "updated_at": now,
        }
        if row.status == "pending":
            values.update(status="failed", next_attempt_at=None, last_error=ERASED_BEFORE_SENT)
        await conn.execute(update(d).where(d.c.id == row.id).values(**values))
    return len(rows)


def session_data(row: Any) -> dict[str, Any]:
    """What a session.* event carries."""
    return {
        "session_id": row.id,
        "interview_id": row.interview_id,
        "status": row.status,
        "ended_reason": row.ended_reason,
        "is_test": row.is_test,
    }
