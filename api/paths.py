"""What each path parameter of the API means, declared once for every endpoint's document."""

from __future__ import annotations

import re

# A parameter named for what it is means that everywhere.
NAMED = {
    "share_token": "The interview's share token (from `share_url`)",
    "section_id": "Section id, e.g. S1",
    "item_id": "Guide item id: Q1… for questions, T1… for tasks",
    "delivery_id": "Webhook delivery id",
    "finding_id": "Finding id",
    "note_id": "Note or bookmark id",
    "theme_id": 'Theme id in the latest completed synthesis, e.g. "th_1"',
    "key": "The file's key in the blob store, as the signed link gives it",
}
# `{id}` is an id of the collection its path names just before it (/v1/exports/{id}).
IDS = {
    "interviews": "Interview id",
    "sessions": "Session id",
    "exports": "Export id",
    "webhooks": "Webhook id",
    "api-keys": "API key id",
}


def described(path: str) -> tuple[tuple[str, str], ...]:
    """Each parameter of `path` (in OpenAPI's `{name}` form) with its meaning; a parameter
    nobody declared is a mistake in the declaration, raised when the endpoint is declared."""
    out = []
    for collection, name in re.findall(r"([^/]*)/{(\w+)}", path):
        meaning = NAMED.get(name) or (IDS.get(collection) if name == "id" else None)
        if meaning is None:
            raise ValueError(f"{path}: say what {{{name}}} is in api/paths.py")
        out.append((name, meaning))
    return tuple(out)
