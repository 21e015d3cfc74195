"""The words the domain packages share, importing nothing: session statuses, who speaks."""

from __future__ import annotations

from typing import Literal, get_args

SessionStatus = Literal["in_progress", "completed", "abandoned"]
SESSION_STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
# Who wrote a message, and who speaks next (the interviewer while a turn is owed).
Role = Literal["interviewer", "respondent"]
ROLES: tuple[Role, ...] = get_args(Role)
