"""The words a session is told in: its statuses, and who speaks in it."""

from __future__ import annotations

from typing import Literal, get_args

SessionStatus = Literal["in_progress", "completed", "abandoned"]
SESSION_STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
# Who wrote a message, and who speaks next (the interviewer while a turn is owed).
Role = Literal["interviewer", "respondent"]
ROLES: tuple[Role, ...] = get_args(Role)
