"""Webhook endpoints per workspace: the events they receive, their secrets, their settings."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform import signing
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound, ValidationError
from runtime.platform.ids import new_id
from runtime.platform.settings import Settings
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import pagination, schema
from runtime.stores.database import Database
from runtime.webhooks import address

WebhookEvent = Literal[
    "interview.published",
    "interview.closed",
    "session.started",
    "session.completed",
    "session.abandoned",
    "session.deleted",
    "export.completed",
    "synthesis.completed",
]
EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)
TestEvent = Literal["webhook.test"]
TEST_EVENT: TestEvent = "webhook.test"
# A failed attempt is retried after each of these in turn; then the delivery has failed.
RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
# This many failed deliveries in a row (each after all its retries) disable the webhook.
DISABLE_AFTER = 5

w = schema.webhooks
d = schema.webhook_deliveries


def signing_secret(secret_key: str, webhook_id: str, salt: str) -> str:
    """The Standard Webhooks secret (`whsec_…`): derived, so it is never stored anywhere."""
    raw = signing.mac(secret_key, f"webhook:{webhook_id}:{salt}")
    return "whsec_" + base64.b64encode(raw).decode()


class Webhook(View):
    id: str
    url: Annotated[str, Meta(description="Where deliveries are POSTed (an http(s) URL)")]
    description: str
    events: Annotated[list[WebhookEvent], Meta(description="The events this webhook receives")]
    enabled: Annotated[
        bool, Meta(description="False when disabled by you or after repeated failures")
    ]
    consecutive_failures: Annotated[
        int,
        Meta(description=f"Failed deliveries in a row; {DISABLE_AFTER} disable the webhook", ge=0),
    ]
    disabled_reason: Annotated[str | None, Meta(description="Why it was disabled automatically")]
    created_at: Timestamp
    updated_at: Timestamp


class WebhookCreated(Webhook):
    secret: Annotated[
        str,
        Meta(
            description="The Standard Webhooks signing secret (whsec_…): shown this once",
            pattern="^whsec_",
        ),
    ]


def to_view(row: Mapping[str, Any]) -> Webhook:
    return Webhook.from_row(row, events=[e for e in EVENTS if e in row["events"]])


async def create(
    db: Database, settings: Settings, workspace_id: str, fields: Mapping[str, Any]
) -> WebhookCreated:
    """A new webhook with its signing secret (which the caller shows once)."""
    now = utcnow()
    row = {
        "id": new_id("wh"),
        "workspace_id": workspace_id,
        "url": address.check_url(fields["url"], settings.webhook_allow_private),
        "description": fields.get("description") or "",
        "events": _events(fields["events"]),
        "enabled": fields.get("enabled", True),
        "secret_salt": secrets.token_hex(16),
        "consecutive_failures": 0,
        "disabled_reason": None,
        "created_at": now,
        "updated_at": now,
    }
    async with db.begin() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(w).where(w.c.workspace_id == workspace_id)
        )
        cap = settings.max_webhooks_per_workspace
        if (count or 0) >= cap:
            raise Conflict(f"a workspace may have at most {cap} webhooks")
        await conn.execute(insert(w).values(**row))
    secret = signing_secret(settings.secret_key, row["id"], row["secret_salt"])
    return WebhookCreated(**msgspec.structs.asdict(to_view(row)), secret=secret)


def _events(events: list[str]) -> list[WebhookEvent]:
    if not events:
        raise ValidationError("events must name at least one event", field="events")
    return [e for e in EVENTS if e in events]


async def owned(conn: AsyncConnection, workspace_id: str, webhook_id: str) -> Any:
    found = (
        await conn.execute(select(w).where(w.c.id == webhook_id, w.c.workspace_id == workspace_id))
    ).first()
    if found is None:
        raise NotFound(f"no webhook {webhook_id} in this workspace")
    return found


async def get(db: Database, workspace_id: str, webhook_id: str) -> Webhook:
    async with db.connect() as conn:
        return to_view((await owned(conn, workspace_id, webhook_id))._mapping)


async def list_page(
    db: Database, workspace_id: str, cursor: str | None, limit: int
) -> pagination.Page[Webhook]:
    async with db.connect() as conn:
        query = select(w).where(w.c.workspace_id == workspace_id)
        rows = await pagination.fetch_page(conn, query, w, cursor, limit)
    return rows.map(to_view)


async def update_fields(
    db: Database, settings: Settings, workspace_id: str, webhook_id: str, fields: Mapping[str, Any]
) -> Webhook:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if "url" in fields:
        values["url"] = address.check_url(fields["url"], settings.webhook_allow_private)
    if "events" in fields:
        values["events"] = _events(fields["events"])
    if "description" in fields:
        values["description"] = fields["description"] or ""
    if "enabled" in fields:
        values["enabled"] = fields["enabled"]
        if fields["enabled"]:
            # Re-enabling starts the count of failures afresh.
            values.update(consecutive_failures=0, disabled_reason=None)
    async with db.begin() as conn:
        await owned(conn, workspace_id, webhook_id)
        await conn.execute(update(w).where(w.c.id == webhook_id).values(**values))
        return to_view((await owned(conn, workspace_id, webhook_id))._mapping)


async def delete(db: Database, workspace_id: str, webhook_id: str) -> None:
    async with db.begin() as conn:
        await owned(conn, workspace_id, webhook_id)
        await conn.execute(d.delete().where(d.c.webhook_id == webhook_id))
        await conn.execute(w.delete().where(w.c.id == webhook_id))
