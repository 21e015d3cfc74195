"""The uvicorn factory the SSE benchmark serves Rapport with: what `rapport serve` builds.

`python -m uvicorn bench.rapport_app:create --factory`, with the settings in the environment
(DATABASE_URL, REDIS_URL, RAPPORT_*), migrations already applied: the same logging setup,
app and in-process sweeper as runtime/cli/main.py's `serve`, minus the embedded Redis.
"""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from bench.tracing import trace_memory_from_env
from runtime.platform import logs
from runtime.platform.settings import Settings
from workers import sweeper


def create() -> Starlette:
    trace_memory_from_env()
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    return create_app(settings, on_start=[sweeper.start_in_process])
