"""The vocabulary of job functions: what a job receives besides its own arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from saq.types import Context

from runtime.services import Services


class JobContext(Context, total=False):
    # Set by the worker's startup hook for every job it runs.
    services: Services


JobFunction = Callable[..., Awaitable[Any]]
