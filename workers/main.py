"""`rapport worker`: the sweeper and webhook delivery (and later the job queue) on their own."""

from __future__ import annotations

import asyncio
import signal

from runtime.services import Services
from runtime.settings import Settings
from workers import sweeper, webhooks


async def run(settings: Settings) -> None:
    services = await Services.open(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(sweeper.run(services, stop), webhooks.run(services, stop))
    finally:
        await services.close()
