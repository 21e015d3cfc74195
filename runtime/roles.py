"""The roles the `rapport` command runs (the API, the worker), as protocols api and workers meet.

api and workers each declare one object satisfying its protocol, as an entry point in the
`rapport.roles` group (pyproject.toml), so mypy checks both sides of the edge and runtime keeps
no import of either (api → runtime ← workers). runtime/cli/roles.py loads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Protocol, runtime_checkable

from runtime.platform.settings import Settings
from runtime.services import Services

Stop = Callable[[], Awaitable[None]]
# Runs once the process's services are open; returns how to stop what it started.
StartHook = Callable[[Services], Awaitable[Stop]]

# ASGI, in the few words the command needs to hand an application to uvicorn.
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


@runtime_checkable
class ApiRole(Protocol):
    """`rapport serve`: the HTTP application over one set of services."""

    def app(self, settings: Settings, on_start: Sequence[StartHook]) -> ASGIApp:
        """The ASGI application; `on_start` hooks run, in order, once its services are open."""
        ...


@runtime_checkable
class WorkerRole(Protocol):
    """`rapport worker`, and the part of it `rapport serve` runs beside the API."""

    @property
    def in_process(self) -> Sequence[StartHook]:
        """What runs beside the API in one process (RAPPORT_IN_PROCESS_WORKER)."""
        ...

    async def run(self, settings: Settings, stop_at_once: Callable[[], bool]) -> None:
        """The worker on its own, until SIGINT or SIGTERM; `stop_at_once()` tells of one
        that came before it ran."""
        ...
