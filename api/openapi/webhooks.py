"""The webhook schemas (filled in with webhook delivery)."""

from __future__ import annotations

from api.openapi.schemas import Schema


def webhook_schemas() -> dict[str, Schema]:
    return {}
