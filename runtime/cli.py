"""The `rapport` command: serve, worker, migrate, keys create.

The CLI is the composition root: it names the api and workers packages by import path so
that runtime keeps no static dependency on either (api → runtime ← workers).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runtime import keys, logs, migrate
from runtime.database import Database
from runtime.errors import ConfigurationError, RapportError
from runtime.redis_server import EmbeddedRedis, Owner
from runtime.settings import Settings


@contextmanager
def _redis(settings: Settings, command: str) -> Iterator[Settings]:
    """The Redis to use: REDIS_URL, else the data directory's embedded one, which `serve`
    runs (refused if another process runs it) and `worker` shares."""
    if settings.redis_url:
        yield settings
        return
    embedded = EmbeddedRedis(settings.data_dir, command)
    if command == "serve":
        url = embedded.start()
        print(f"rapport: started embedded Redis at {url}", file=sys.stderr)
    else:
        url = embedded.join(on_owner_exit=_stop_with_owner)
        print(f"rapport: shares the embedded Redis of {embedded.owner} at {url}", file=sys.stderr)
    try:
        yield dataclasses.replace(settings, redis_url=url)
    finally:
        embedded.stop()


def _stop_with_owner(owner: Owner) -> None:
    # Called from the watcher thread: stop the way SIGTERM stops us, cleanly.
    print(
        f"rapport: the embedded Redis stopped with the process that ran it, {owner}; stopping",
        file=sys.stderr,
    )
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_signals() -> None:
    # uvicorn re-raises SIGINT/SIGTERM once it has shut down gracefully; with the default
    # handlers that kills us (or raises KeyboardInterrupt) before `finally` blocks run,
    # leaving the embedded Redis behind. A signal before uvicorn (or the worker's loop)
    # takes over lands here too, and exits just as cleanly.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    _exit_on_signals()
    migrate.upgrade(settings.database_url)
    with _redis(settings, "serve") as settings:
        create_app: Any = importlib.import_module("api.app").create_app
        hooks = []
        if settings.run_worker_in_process:
            hooks.append(importlib.import_module("workers.sweeper").start_in_process)
            hooks.append(importlib.import_module("workers.webhooks").start_in_process)
            hooks.append(importlib.import_module("workers.queue").start_in_process)
        app = create_app(settings, on_start=hooks)
        # Our own access log (api.middleware) omits query strings, which may carry tickets.
        # Live streams end only with their session: on shutdown they are cut after the grace
        # period, and clients resume on another node from their last event id.
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )


def worker(settings: Settings) -> None:
    _exit_on_signals()
    with _redis(settings, "worker") as settings:
        asyncio.run(importlib.import_module("workers.main").run(settings))


async def _create_key(
    settings: Settings, workspace: str, scopes: tuple[str, ...], name: str, plan: str
) -> str:
    if plan not in dict(settings.rate_limit_plans):
        raise ConfigurationError(f"no rate-limit plan {plan!r} in RAPPORT_RATE_LIMIT_PLANS")
    db = Database.from_settings(settings)
    try:
        workspace_id = await keys.ensure_workspace(db, workspace)
        created = await keys.create_key(db, workspace_id, name, scopes, plan)
        return created.plaintext
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rapport", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p_serve = commands.add_parser("serve", help="run the API (and a worker) on embedded defaults")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    commands.add_parser("worker", help="run the background worker alone")
    commands.add_parser("migrate", help="apply database migrations up to head")
    p_keys = commands.add_parser("keys", help="manage API keys")
    key_commands = p_keys.add_subparsers(dest="keys_command", required=True)
    p_create = key_commands.add_parser("create", help="create a key; prints it once")
    p_create.add_argument("--workspace", required=True)
    p_create.add_argument("--name", default="cli")
    p_create.add_argument("--scopes", nargs="*", default=list(keys.ALL_SCOPES))
    p_create.add_argument("--plan", default=keys.DEFAULT_PLAN, help="rate-limit plan name")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        if args.command == "serve":
            serve(settings, args.host, args.port)
        elif args.command == "worker":
            worker(settings)
        elif args.command == "migrate":
            migrate.upgrade(settings.database_url)
        elif args.command == "keys":
            migrate.upgrade(settings.database_url)
            created = _create_key(
                settings, args.workspace, tuple(args.scopes), args.name, args.plan
            )
            print(asyncio.run(created))
    except RapportError as exc:
        print(f"rapport: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
