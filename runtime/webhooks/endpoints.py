"""Webhooks: endpoints per workspace, the events they receive, and the delivery rows emitted."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform.clock import iso, utcnow
from runtime.platform.errors import Conflict, NotFound, ValidationError
from runtime.platform.ids import new_id
from runtime.platform.settings import Settings
from runtime.stores import pagination, schema
from runtime.stores.database import Database

EVENTS = (
    "interview.published",
    "interview.closed",
    "session.started",
    "session.completed",
    "session.abandoned",
    "session.deleted",
    "export.completed",
)
TEST_EVENT = "webhook.test"
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
DELIVERY_STATUSES = ("pending", "succeeded", "failed")
MAX_URL_LENGTH = 2048

w = schema.webhooks
d = schema.webhook_deliveries


def signing_secret(secret_key: str, webhook_id: str, salt: str) -> str:
    """The Standard Webhooks secret (`whsec_…`): derived, so it is never stored anywhere."""
    raw = hmac.new(secret_key.encode(), f"webhook:{webhook_id}:{salt}".encode(), hashlib.sha256)
    return "whsec_" + base64.b64encode(raw.digest()).decode()


# IPv6 prefixes whose last 32 bits are an IPv4 address: NAT64's well-known prefix
# (RFC 6052; a DNS64 host reaches IPv4-only receivers through it) and the deprecated
# IPv4-compatible form (RFC 4291, ::a.b.c.d).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 one carries: mapped, compatible, NAT64, 6to4, Teredo."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    found.extend(address.teredo or ())  # (server, client)
    if address in NAT64 or address in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return found


def non_public(address: IPAddress) -> bool:
    """Not for webhooks: loopback, private, link-local, site-local, unique-local, shared,
    unspecified, multicast or reserved, or an IPv6 address that carries such an IPv4 one.
    An IPv4-mapped or NAT64 address is judged by the IPv4 address it reaches; every other
    embedding (IPv4-compatible, NAT64 local-use 64:ff9b:1::/48, Teredo) is reserved or
    private in itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return not address.is_global or address.is_multicast or address.is_reserved
    if any(non_public(inner) for inner in embedded_ipv4(address)):
        return True
    if address.ipv4_mapped is not None or address in NAT64:
        return False
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_site_local
        or address.is_link_local
        or address.is_loopback
        or address.is_unspecified
    )


def check_url(url: str, allow_private: bool) -> str:
    # ASCII without spaces or controls: an international name is sent in its punycode form.
    if not all(33 <= ord(c) < 127 for c in url):
        raise ValidationError("url must be ASCII, without spaces (use punycode)", field="url")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise ValidationError("url has a malformed port", field="url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url must be an absolute http(s) URL", field="url")
    try:
        parts.hostname.encode("idna")
    except UnicodeError as exc:
        raise ValidationError("url has a malformed host name", field="url") from exc
    with contextlib.suppress(ValueError):
        if not allow_private and non_public(ipaddress.ip_address(parts.hostname)):
            raise ValidationError("url must not point at a non-public address", field="url")
    if parts.username or parts.password:
        raise ValidationError("url must not carry credentials", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"url must be at most {MAX_URL_LENGTH} characters", field="url")
    return url


def to_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "description": row["description"],
        "events": [e for e in EVENTS if e in row["events"]],
        "enabled": row["enabled"],
        "consecutive_failures": row["consecutive_failures"],
        "disabled_reason": row["disabled_reason"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def delivery_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhook_id": row["webhook_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": row["next_attempt_at"],
        "last_status_code": row["last_status_code"],
        "last_latency_ms": row["last_latency_ms"],
        "last_error": row["last_error"],
        "log": row["log"],
        "payload": row["payload"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def create(
    db: Database, settings: Settings, workspace_id: str, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    """A new webhook and its signing secret (which the caller shows once)."""
    now = utcnow()
    row = {
        "id": new_id("wh"),
        "workspace_id": workspace_id,
        "url": check_url(fields["url"], settings.webhook_allow_private),
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
    return to_view(row), signing_secret(settings.secret_key, row["id"], row["secret_salt"])


def _events(events: list[str]) -> list[str]:
    if not events:
        raise ValidationError("events must name at least one event", field="events")
    return [e for e in EVENTS if e in events]


async def _owned(conn: AsyncConnection, workspace_id: str, webhook_id: str) -> Any:
    found = (
        await conn.execute(select(w).where(w.c.id == webhook_id, w.c.workspace_id == workspace_id))
    ).first()
    if found is None:
        raise NotFound(f"no webhook {webhook_id} in this workspace")
    return found


async def get(db: Database, workspace_id: str, webhook_id: str) -> dict[str, Any]:
    async with db.connect() as conn:
        return to_view((await _owned(conn, workspace_id, webhook_id))._mapping)


async def signing_row(db: Database, workspace_id: str, webhook_id: str) -> Mapping[str, Any]:
    async with db.connect() as conn:
        return dict((await _owned(conn, workspace_id, webhook_id))._mapping)


async def list_page(
    db: Database, workspace_id: str, cursor: str | None, limit: int
) -> pagination.Page[dict[str, Any]]:
    async with db.connect() as conn:
        query = select(w).where(w.c.workspace_id == workspace_id)
        rows = await pagination.fetch_page(conn, query, w, cursor, limit)
    return rows.map(to_view)


async def update_fields(
    db: Database, settings: Settings, workspace_id: str, webhook_id: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if "url" in fields:
        values["url"] = check_url(fields["url"], settings.webhook_allow_private)
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
        await _owned(conn, workspace_id, webhook_id)
        await conn.execute(update(w).where(w.c.id == webhook_id).values(**values))
        return to_view((await _owned(conn, workspace_id, webhook_id))._mapping)


async def delete(db: Database, workspace_id: str, webhook_id: str) -> None:
    async with db.begin() as conn:
        await _owned(conn, workspace_id, webhook_id)
        await conn.execute(d.delete().where(d.c.webhook_id == webhook_id))
        await conn.execute(w.delete().where(w.c.id == webhook_id))


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


async def emit_with(
    db: Database, workspace_id: str, event_type: str, data: Mapping[str, Any]
) -> int:
    """`emit` in a transaction of its own, for callers that hold none."""
    async with db.begin() as conn:
        return await emit(conn, workspace_id, event_type, data)


async def queue_test(db: Database, workspace_id: str, webhook_id: str) -> str:
    """A `webhook.test` delivery to this webhook alone, whatever it subscribes to."""
    now = utcnow()
    payload = _payload(TEST_EVENT, {"webhook_id": webhook_id}, now)
    row = _delivery(webhook_id, new_id("msg"), payload, now)
    async with db.begin() as conn:
        await _owned(conn, workspace_id, webhook_id)
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
) -> dict[str, Any]:
    async with db.connect() as conn:
        found = await _owned_delivery(conn, workspace_id, webhook_id, delivery_id)
    return delivery_view(dict(found._mapping))


async def list_deliveries(
    db: Database,
    workspace_id: str,
    webhook_id: str,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> pagination.Page[dict[str, Any]]:
    async with db.connect() as conn:
        await _owned(conn, workspace_id, webhook_id)
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
