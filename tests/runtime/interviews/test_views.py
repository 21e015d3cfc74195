"""An interview's view: one session count per session status."""

from __future__ import annotations

import msgspec

from runtime.interviews.views import SessionCounts
from runtime.vocabulary import SESSION_STATUSES


def test_session_counts_has_a_count_for_every_session_status() -> None:
    names = [f.name for f in msgspec.structs.fields(SessionCounts)]
    assert names == ["total", *SESSION_STATUSES]
