"""Every Redis key Rapport uses, and how long each lives, in one place."""

from __future__ import annotations

PREFIX = "rapport"

# The job queue's name: saq keeps its keys under `saq:<name>:*` and job results for a job's
# `ttl` (600 s by default) after it finishes.
JOB_QUEUE = f"{PREFIX}-jobs"

# Turns waiting to be generated or finished: member = session id, score = enqueue time (ms).
PENDING_TURNS = f"{PREFIX}:turns:pending"


def events(session_id: str) -> str:
    """The session's ordered event log (a Stream); expires event_log_ttl after its last event."""
    return f"{PREFIX}:session:{session_id}:events"


def notify(session_id: str) -> str:
    """Pub/Sub channel that wakes stream readers when the event log grows."""
    return f"{PREFIX}:session:{session_id}:notify"


# Entries an interview's live feed keeps (XADD MAXLEN ~: Redis trims in whole nodes, so a few
# more may stay); a reader resuming from before the oldest gets `feed.reset` (docs/limits.md).
INTERVIEW_FEED_MAXLEN = 10_000


INTERVIEW_PREFIX = f"{PREFIX}:interview:"


def interview_feed(interview_id: str) -> str:
    """The interview's live feed (a Stream): every event of its sessions' logs, mirrored by
    the same script that appends it; capped at INTERVIEW_FEED_MAXLEN and expiring like a
    session's log, event_log_ttl after its last entry."""
    return f"{INTERVIEW_PREFIX}{interview_id}:live"


def interview_notify(interview_id: str) -> str:
    """Pub/Sub channel that wakes the interview feed's readers: one per interview."""
    return f"{INTERVIEW_PREFIX}{interview_id}:notify"


# Pub/Sub channel: the id of each API key just revoked, so every process's stream hub closes
# the streams that key opened (runtime/live/hub.py).
KEY_REVOCATIONS = f"{PREFIX}:keys:revoked"


def console_ticket(digest: str) -> str:
    """A console ticket (by the SHA-256 of its text): the API key id it stands for; expires
    after console_ticket_ttl_seconds."""
    return f"{PREFIX}:console:ticket:{digest}"


def lease(session_id: str) -> str:
    """The turn lease: holder token, expiring after turn_lease_ms unless renewed."""
    return f"{PREFIX}:session:{session_id}:lease"


def turn_stop(session_id: str) -> str:
    """What a researcher asked of the process writing the session's turn (restart, takeover):
    read and cleared by that writer's next lease renewal; expires with a lease."""
    return f"{PREFIX}:session:{session_id}:turn_stop"


def live(session_id: str) -> str:
    """The live state hash (newest event id and type); expires with the event log."""
    return f"{PREFIX}:session:{session_id}:live"


def ended(session_id: str) -> str:
    """Set by whoever announces the session's end, so it is announced exactly once."""
    return f"{PREFIX}:session:{session_id}:ended"


# Outlives any writer that was still running when its session was erased (a turn, a retry).
ERASED_TTL_SECONDS = 24 * 3600


def erased(session_id: str) -> str:
    """Set when the session is erased: its log refuses appends; expires after ERASED_TTL."""
    return f"{PREFIX}:session:{session_id}:erased"


def session_idempotency(session_id: str) -> str:
    """The idempotency records whose answer is about the session (a set of their keys), so
    erasing it finds them; expires with the newest of them."""
    return f"{PREFIX}:session:{session_id}:idem"


# Rate-limit counters (the `limits` library's keys live under this prefix); each expires with
# its window.
RATE_LIMIT_PREFIX = f"{PREFIX}:ratelimit"


def idempotency(owner: str, key_digest: str) -> str:
    """A POST's idempotency record: pending briefly while it runs, then kept idempotency_ttl."""
    return f"{PREFIX}:idem:{owner}:{key_digest}"


TURN_ATTEMPTS_TTL_SECONDS = 24 * 3600


def turn_attempts(session_id: str, turn_id: str) -> str:
    """How many times generating this turn has started (bounds retries); expires after a day."""
    return f"{PREFIX}:session:{session_id}:turn:{turn_id}:attempts"
