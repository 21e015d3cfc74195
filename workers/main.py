"""`rapport worker`: the sweeper and the job worker, without the API."""

from __future__ import annotations

import asyncio
import signal

from runtime.services import Services
from runtime.settings import Settings
from workers import queue, sweeper


async def run(settings: Settings) -> None:
    services = await Services.open(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stop_jobs = await queue.start_in_process(services)
    try:
        await sweeper.run(services, stop)
    finally:
        await stop_jobs()
        await services.close()
