"""Which foreign errors mean a store is unreachable, too slow or locked: try again soon."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from runtime.platform.errors import Unavailable

# PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": lock_timeout, a statement
# cancelled by statement_timeout, too many connections, a server shutting down or starting;
# class 08 is a lost or refused connection.
_PG_UNAVAILABLE = {"55P03", "57014", "53300", "57P01", "57P02", "57P03"}
# SQLite's busy_timeout ran out while another connection held the write lock.
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "database table is locked")


def outage(exc: BaseException) -> Unavailable | None:
    """The Unavailable error a store failure stands for; None for anything else (a bug)."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        # ConnectionError covers a refused connection, a full pool and a Redis still loading.
        return Unavailable("the live store (Redis) is not answering; try again shortly")
    if isinstance(exc, PoolTimeout):
        return Unavailable("every database connection is busy; try again shortly")
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if state in _PG_UNAVAILABLE or state.startswith("08"):
            return Unavailable("the database is busy or locked; try again shortly")
        if any(text in str(exc.orig) for text in _SQLITE_UNAVAILABLE):
            return Unavailable("the database is busy or locked; try again shortly")
        if exc.connection_invalidated:
            return Unavailable("the database connection was lost; try again shortly")
    return None
