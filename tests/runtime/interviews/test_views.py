"""An interview's view: one session count per session status."""

from __future__ import annotations

import msgspec
from runtime.sessions.vocabulary import SESSION_STATUSES

from runtime.interviews.views import SessionCounts


def test_session_counts_has_a_count_for_every_session_status() -> None:
    names = [f.name for f in msgspec.structs.fields(SessionCounts)]
    assert names == ["total", *SESSION_STATUSES]
