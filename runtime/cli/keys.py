"""`rapport keys create | list | revoke`: API keys, managed from the operator's shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.access import keys
from runtime.cli import database as cli_database
from runtime.live import hub
from runtime.platform.clock import iso
from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from runtime.stores.embedded_redis import EmbeddedRedis

T = TypeVar("T")
COLUMNS = ("id", "name", "prefix", "scopes", "plan", "created", "last used", "workspace")


def run(settings: Settings, args: argparse.Namespace) -> int:
    action = args.keys_command
    if action == "create":
        # Refused before anything is written: a bad argument makes no database.
        keys.check_scopes(tuple(args.scopes))
        if args.plan not in dict(settings.rate_limit_plans):
            raise ConfigurationError(
                f"no rate-limit plan {args.plan!r} in RAPPORT_RATE_LIMIT_PLANS"
            )
    # Only `create` may make a new database: listing or revoking in an empty one would
    # answer for a database no server uses.
    cli_database.prepare(settings, create=action == "create")
    if action == "create":
        created = _with_db(
            settings,
            lambda db: _create(db, args.workspace, tuple(args.scopes), args.name, args.plan),
        )
        print(created)
    elif action == "list":
        listed = _with_db(settings, lambda db: keys.list_live(db, args.workspace))
        print(table(listed))
    else:
        _with_db(settings, lambda db: keys.revoke_any(db, args.id))
        print(f"rapport: revoked {args.id}", file=sys.stderr)
        if not asyncio.run(_announce(settings, args.id)):
            print(
                "rapport: no Redis answered, so the servers were not told at once: streams "
                f"opened with this key close at their next heartbeat "
                f"({settings.sse_heartbeat_seconds:g} s)",
                file=sys.stderr,
            )
    return 0


async def _announce(settings: Settings, key_id: str) -> bool:
    """Tell every server's hub to close the streams the key opened (as DELETE /v1/api-keys
    does); the deployment's Redis, or the embedded one a server here runs. False when no
    Redis answered."""
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        if not embedded.socket.exists():
            return False
        url = embedded.url
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await hub.announce_revocation(client, key_id)
        return True
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _create(
    db: Database, workspace: str, scopes: tuple[str, ...], name: str, plan: str
) -> str:
    workspace_id = await keys.ensure_workspace(db, workspace)
    return (await keys.create_key(db, workspace_id, name, scopes, plan)).plaintext


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database.from_settings(settings)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(go())


def table(listed: list[keys.ListedKey]) -> str:
    """One line per key, in aligned columns under a heading."""
    rows = [COLUMNS] + [
        (
            k.view.id,
            k.view.name,
            k.view.prefix + "…",
            ",".join(k.view.scopes),
            k.view.plan,
            iso(k.view.created_at) or "",
            iso(k.view.last_used_at) or "never",
            k.workspace,
        )
        for k in listed
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
