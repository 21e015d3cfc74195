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
    """An ISO 8601 timestamp from a client (UTC when it gives no offset), in UTC."""
    from runtime.platform.errors import ValidationError

    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{name} must be an ISO 8601 timestamp", field=name) from exc
    return as_utc(value, name)


def as_utc(value: datetime, name: str) -> datetime:
    """The time in UTC (naive taken as UTC); ValidationError if UTC cannot express it
    (0001-01-01T00:00+01:00 is in year 0): converted now, not later in a database driver."""
    from runtime.platform.errors import ValidationError

    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError(f"{name} is outside the years 1 to 9999 in UTC", field=name) from exc
