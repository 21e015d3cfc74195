"""The worker as the `rapport` command loads it: entry point `worker` of group rapport.roles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runtime.platform.settings import Settings
from runtime.roles import StartHook, WorkerRole
from workers import main, queue, sweeper, webhooks


@dataclass(frozen=True)
class _Worker:
    # Beside the API (rapport serve): the sweeper, webhook delivery, then a job worker.
    in_process: Sequence[StartHook] = field(
        default=(sweeper.start_in_process, webhooks.start_in_process, queue.start_in_process)
    )

    async def run(self, settings: Settings, stop_at_once: Callable[[], bool]) -> None:
        await main.run(settings, stop_at_once)


role: WorkerRole = _Worker()
