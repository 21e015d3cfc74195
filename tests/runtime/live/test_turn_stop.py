"""Asking another process's turn writer to stop: heard once, by the lease's holder only."""

from __future__ import annotations

import uuid

from runtime.live.lease import Leases
from tests.runtime.live.test_live_contract import Live, live

__all__ = ["live"]  # the fixture: both backends


async def test_a_stop_asked_is_heard_once_by_the_holder_at_its_renewal(live: Live) -> None:
    leases: Leases = live.leases
    session_id = f"ses_{uuid.uuid4().hex}"
    token = await leases.take(session_id)
    assert token is not None
    assert await leases.renew_hearing(session_id, token) == (True, None)
    await leases.ask_stop(session_id, "restart")
    assert await leases.renew_hearing(session_id, "not-the-holder") == (False, None)
    assert await leases.renew_hearing(session_id, token) == (True, "restart")
    assert await leases.renew_hearing(session_id, token) == (True, None), "told once"
    await leases.release(session_id, token)
