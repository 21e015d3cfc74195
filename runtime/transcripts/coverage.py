"""A session's coverage as rendered transcripts show it: one row per guide item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the PDF module reads HEADING, and need not load the coverage views
    from runtime.coverage.views import SessionCoverage

HEADING = "Coverage"


def coverage_rows(coverage: SessionCoverage | None) -> list[tuple[str, str]]:
    """(item id, "status · value") per item in guide order; the value only when resolved."""
    if coverage is None:
        return []
    return [
        (item.item_id, item.status if item.value is None else f"{item.status} · {item.value}")
        for item in coverage.items
    ]


def fingerprinted(
    fields: Sequence[tuple[str, str]], rows: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The metadata rows and the coverage rows, as a fingerprint takes them: a rendering that
    shows coverage changes when it does."""
    return [*fields, *((HEADING, ""),) * bool(rows), *rows]
