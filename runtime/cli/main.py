"""The `rapport` command: serve, worker, migrate, doctor, keys.

The CLI is the composition root: it loads the api and workers roles from their entry points
(runtime/cli/roles.py), typed by the protocols in runtime/roles.py, so that runtime keeps no
import of either (api → runtime ← workers).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from runtime.access import keys
from runtime.cli import database as cli_database
from runtime.cli import doctor as cli_doctor
from runtime.cli import keys as cli_keys
from runtime.cli import roles
from runtime.deployment import doctor, instances
from runtime.platform import logs
from runtime.platform.errors import RapportError
from runtime.platform.settings import Settings
from runtime.roles import StartHook, Stop
from runtime.services import Services
from runtime.stores.embedded_redis import EmbeddedRedis, Owner


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


# Set by SIGINT/SIGTERM while neither uvicorn nor the worker's loop handles them.
_signalled = threading.Event()


def _defer_signals() -> None:
    # Until uvicorn (or the worker's loop) takes SIGINT/SIGTERM over, and after it lets go
    # (uvicorn re-raises the signal once it has shut down), a signal only marks that we
    # should stop, and the `finally` blocks that stop the embedded Redis still run. It must
    # not raise (sys.exit): raised inside a __del__ the exception is ignored, and the
    # signal is lost.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: _signalled.set())


async def _stop_if_signalled(services: Services) -> Stop:
    # The first start-up hook: uvicorn handles signals by now, so one that came earlier
    # (during migrations, imports) is sent again, and uvicorn shuts down at once.
    if _signalled.is_set():
        os.kill(os.getpid(), signal.SIGTERM)

    async def nothing() -> None:
        return None

    return nothing


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    _defer_signals()
    cli_database.prepare(settings, create=True, name_servers=False)
    with (
        _redis(settings, "serve") as settings,
        instances.registered(settings, f"http://{host}:{port}"),
    ):
        hooks: list[StartHook] = [_stop_if_signalled, doctor.start_in_process]
        if settings.run_worker_in_process:
            hooks.extend(roles.worker().in_process)
        app = roles.api().app(settings, hooks)
        # Our own access log (api.middleware) omits query strings, which may carry tickets.
        # Live streams end only with their session: on shutdown they are cut after the grace
        # period, and clients resume on another node from their last event id.
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # api.ratelimit reads X-Forwarded-For (RAPPORT_TRUSTED_PROXY_HOPS)
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )


def worker(settings: Settings) -> None:
    _defer_signals()
    with _redis(settings, "worker") as settings:
        run = roles.worker().run
        try:
            asyncio.run(run(settings, _signalled.is_set))
        finally:
            _defer_signals()  # asyncio.run put the default handlers back


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help, unless the help says it itself (or there is none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    """The whole command line; every option is described with its default."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the data directory: SQLite database, embedded Redis, blobs, secret "
        "(default: $RAPPORT_DATA_DIR, else ./data)",
    )
    top = argparse.ArgumentParser(
        prog="rapport",
        description=__doc__.splitlines()[0] + " Settings come from the environment: "
        "docs/configuration.md.",
        formatter_class=_HelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"rapport {_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        summary: str,
        description: str = "",
    ) -> argparse.ArgumentParser:
        return group.add_parser(
            name,
            help=summary,
            description=description or summary,
            parents=[common],
            formatter_class=_HelpFormatter,
        )

    p_serve = command(
        commands,
        "serve",
        "run the API, and a worker, on embedded defaults",
        "Apply migrations, then run the API and (unless RAPPORT_IN_PROCESS_WORKER=0) the "
        "sweeper and a job worker in one process. Without REDIS_URL it runs the data "
        "directory's own redis-server; one serve per data directory.",
    )
    p_serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p_serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    command(
        commands,
        "worker",
        "run the sweeper and a job worker without the API",
        "Run the sweeper, webhook delivery and a job worker. Without REDIS_URL it shares the "
        "Redis of the `rapport serve` running on the same data directory, and stops with it.",
    )
    command(commands, "migrate", "apply the database migrations up to head")
    command(
        commands,
        "doctor",
        "check what this deployment needs, and say how to fix what is missing",
        "Check ffmpeg, the PDF fonts, Redis, the database, the blob store and the LLM; print "
        "each with the exact fix; exit 1 if something required fails.",
    )
    p_keys = commands.add_parser(
        "keys",
        help="manage API keys",
        description="Manage API keys.",
        formatter_class=_HelpFormatter,
    )
    key_commands = p_keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p_create = command(
        key_commands,
        "create",
        "create a key; prints it, alone, once",
        "Create a key (and its workspace if new) and print it alone on stdout, once; only a "
        "hash is stored.",
    )
    p_create.add_argument("--workspace", required=True, help="workspace name (created if new)")
    p_create.add_argument("--name", default="cli", help="a label for the key")
    p_create.add_argument(
        "--scopes",
        nargs="*",
        default=list(keys.ALL_SCOPES),
        metavar="SCOPE",
        help=f"what the key may do, among {', '.join(keys.ALL_SCOPES)} (default: all of them)",
    )
    p_create.add_argument(
        "--plan",
        default=keys.DEFAULT_PLAN,
        help="rate-limit plan, a name in RAPPORT_RATE_LIMIT_PLANS (default: the one named default)",
    )
    p_list = command(
        key_commands,
        "list",
        "list the live keys: id, name, prefix, scopes, plan, created, last used",
    )
    p_list.add_argument("--workspace", help="only this workspace's keys (default: every workspace)")
    p_revoke = command(key_commands, "revoke", "revoke a key by its id (see `keys list`)")
    p_revoke.add_argument("id", help="the key's id, key_…")
    return top


def _version() -> str:
    try:
        return importlib.metadata.version("rapport")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _settings(args: argparse.Namespace, *, persist: bool) -> Settings:
    env: dict[str, str] = dict(os.environ)
    if args.data_dir:
        env["RAPPORT_DATA_DIR"] = args.data_dir
    return Settings.from_env(env, persist=persist)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        # Only the processes that sign things (tickets, blob links) keep a secret on disk.
        settings = _settings(args, persist=args.command in ("serve", "worker"))
        logs.configure(settings.log_level)
        if args.command == "serve":
            serve(settings, args.host, args.port)
        elif args.command == "worker":
            worker(settings)
        elif args.command == "migrate":
            cli_database.prepare(settings, create=True, name_servers=False)
        elif args.command == "doctor":
            return cli_doctor.run(settings)
        elif args.command == "keys":
            return cli_keys.run(settings, args)
    except RapportError as exc:
        print(f"rapport: {exc}", file=sys.stderr)
        return 2
    return 0
