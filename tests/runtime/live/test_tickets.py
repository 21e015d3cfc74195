"""Stream tickets: bound to one session, signed, expiring."""

from __future__ import annotations

import pytest

from runtime.live import tickets
from runtime.platform.errors import Unauthorized


def test_ticket_round_trip_and_failures() -> None:
    ticket = tickets.issue("s3cret", "ses_1", 60, now=1000)
    tickets.verify("s3cret", ticket, "ses_1", now=1059)
    for secret, session, now, reason in [
        ("s3cret", "ses_1", 1061, "expired"),
        ("other", "ses_1", 1000, "not valid"),
        ("s3cret", "ses_2", 1000, "not valid"),
    ]:
        with pytest.raises(Unauthorized, match=reason):
            tickets.verify(secret, ticket, session, now=now)
    expires, _, signature = ticket.partition(".")
    stretched = f"{int(expires) + 3600}.{signature}"
    with pytest.raises(Unauthorized, match="not valid"):
        tickets.verify("s3cret", stretched, "ses_1", now=1000)
    with pytest.raises(Unauthorized, match="malformed"):
        tickets.verify("s3cret", "garbage", "ses_1")
