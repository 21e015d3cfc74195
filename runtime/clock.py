"""Time, in one place, so that stored timestamps are always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def readable(value: datetime) -> str:
    """A time as people read it in a document: to the second, in UTC, said so."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse(raw: str, name: str) -> datetime:
    """An ISO 8601 timestamp from a client (UTC when it gives no offset)."""
    from runtime.errors import ValidationError

    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{name} must be an ISO 8601 timestamp", field=name) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
