"""`rapport worker`: the sweeper, webhook delivery and the job worker, without the API."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from runtime.deployment import doctor
from runtime.platform.settings import Settings
from runtime.services import Services
from workers import queue, sweeper, webhooks


async def run(settings: Settings, stop_at_once: Callable[[], bool] = lambda: False) -> None:
    """Until SIGINT or SIGTERM; `stop_at_once()` tells of one that came before this ran."""
    # The handlers come first: a Ctrl-C while the services open stops the worker as
    # cleanly as one later.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stop_at_once():
        stop.set()
    services = await Services.open(settings)
    stop_checks = await doctor.start_in_process(services)
    stop_jobs = await queue.start_in_process(services)
    try:
        await asyncio.gather(sweeper.run(services, stop), webhooks.run(services, stop))
    finally:
        await stop_jobs()
        await stop_checks()
        await services.close()
