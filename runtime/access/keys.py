"""Workspaces and API keys: keys are shown once and stored only as hashes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from sqlalchemy import select, update

from runtime.platform.clock import utcnow
from runtime.platform.errors import Forbidden, NotFound, Unauthorized, ValidationError
from runtime.platform.ids import hash_secret, new_id, new_secret
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import pagination, schema
from runtime.stores.database import Database

KEY_PREFIX = "rk_live_"
Scope = Literal[
    "interviews:read",
    "interviews:write",
    "sessions:read",
    "sessions:write",
    "sessions:delete",
    "exports:read",
    "exports:write",
    "webhooks:manage",
    "keys:manage",
    "metrics:read",
]
INTERVIEWS_READ = "interviews:read"
INTERVIEWS_WRITE = "interviews:write"
SESSIONS_READ = "sessions:read"
SESSIONS_WRITE = "sessions:write"
# Erasing sessions (and setting an interview's retention) cannot be undone: a scope of its own.
SESSIONS_DELETE = "sessions:delete"
EXPORTS_READ = "exports:read"
EXPORTS_WRITE = "exports:write"
WEBHOOKS_MANAGE = "webhooks:manage"
KEYS_MANAGE = "keys:manage"
METRICS_READ = "metrics:read"
ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)
DEFAULT_PLAN = "default"
# Writing last_used_at on every request would make every read a write; minute precision is enough.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is calling the researcher API: a key inside one workspace."""

    workspace_id: str
    key_id: str
    scopes: frozenset[str]
    plan: str = DEFAULT_PLAN

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope} scope")


@dataclass(frozen=True)
class CreatedKey:
    id: str
    workspace_id: str
    plaintext: str
    prefix: str
    scopes: tuple[Scope, ...]
    name: str
    plan: str
    created_at: datetime


async def ensure_workspace(db: Database, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("workspace name must be 1 to 200 characters", field="workspace")
    async with db.begin() as conn:
        found = await conn.scalar(
            select(schema.workspaces.c.id).where(schema.workspaces.c.name == name)
        )
        if found:
            return str(found)
        workspace_id = new_id("ws")
        await conn.execute(
            schema.workspaces.insert().values(id=workspace_id, name=name, created_at=utcnow())
        )
        return workspace_id


def check_scopes(scopes: tuple[str, ...]) -> tuple[Scope, ...]:
    """The scopes in their canonical order; ValidationError naming any unknown one."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationError(f"unknown scopes: {', '.join(unknown)}", field="scopes")
    return tuple(s for s in ALL_SCOPES if s in scopes)


async def create_key(
    db: Database,
    workspace_id: str,
    name: str = "default",
    scopes: tuple[str, ...] = ALL_SCOPES,
    plan: str = DEFAULT_PLAN,
) -> CreatedKey:
    scopes = check_scopes(scopes)
    now = utcnow()
    plaintext = new_secret(KEY_PREFIX, 24)
    key_id = new_id("key")
    prefix = plaintext[: len(KEY_PREFIX) + 6]
    async with db.begin() as conn:
        await conn.execute(
            schema.api_keys.insert().values(
                id=key_id,
                workspace_id=workspace_id,
                name=name,
                prefix=prefix,
                key_hash=hash_secret(plaintext),
                scopes=list(scopes),
                plan=plan,
                created_at=now,
            )
        )
    return CreatedKey(key_id, workspace_id, plaintext, prefix, scopes, name, plan, now)


async def authenticate(db: Database, plaintext: str) -> Principal:
    if not plaintext.startswith(KEY_PREFIX):
        raise Unauthorized("an API key (rk_live_…) is required")
    return await _live(db, schema.api_keys.c.key_hash == hash_secret(plaintext))


async def authenticate_id(db: Database, key_id: str) -> Principal:
    """The key a console ticket stands for, as valid as the key is now (revoked: 401)."""
    return await _live(db, schema.api_keys.c.id == key_id)


async def _live(db: Database, which: Any) -> Principal:
    t = schema.api_keys
    async with db.connect() as conn:
        row = (await conn.execute(select(t).where(which))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("this API key is not valid")
    now = utcnow()
    if row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_INTERVAL:
        async with db.begin() as conn:
            await conn.execute(update(t).where(t.c.id == row["id"]).values(last_used_at=now))
    return Principal(row["workspace_id"], row["id"], frozenset(row["scopes"]), row["plan"])


class ApiKey(View):
    """An API key as the API shows it: never the secret or its hash."""

    id: str
    name: str
    prefix: Annotated[str, Meta(description="The key's first characters, to recognise it")]
    scopes: list[Scope]
    plan: Annotated[str, Meta(description="The rate-limit plan")]
    created_at: Timestamp
    last_used_at: Annotated[Timestamp | None, Meta(description="Last use, to the minute")]


class ApiKeyCreated(ApiKey):
    key: Annotated[str, Meta(description="The plaintext key: shown this once, store it now")]


def to_view(row: Mapping[str, Any]) -> ApiKey:
    return ApiKey.from_row(row, scopes=[s for s in ALL_SCOPES if s in row["scopes"]])


async def list_page(
    db: Database, workspace_id: str, cursor: str | None, limit: int
) -> pagination.Page[ApiKey]:
    """Live (unrevoked) keys, newest first."""
    t = schema.api_keys
    query = select(t).where(t.c.workspace_id == workspace_id, t.c.revoked_at.is_(None))
    async with db.connect() as conn:
        rows = await pagination.fetch_page(conn, query, t, cursor, limit)
    return rows.map(to_view)


async def revoke(db: Database, workspace_id: str, key_id: str) -> None:
    t = schema.api_keys
    async with db.begin() as conn:
        result = await conn.execute(
            update(t)
            .where(t.c.id == key_id, t.c.workspace_id == workspace_id, t.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    if result.rowcount != 1:
        raise NotFound(f"no API key {key_id} in this workspace")


REVOKED = "the API key that opened this stream has been revoked"


async def revoked_among(db: Database, key_ids: set[str]) -> set[str]:
    """Which of these keys are no longer valid (revoked, or gone): one query for them all."""
    if not key_ids:
        return set()
    t = schema.api_keys
    async with db.connect() as conn:
        live = await conn.scalars(
            select(t.c.id).where(t.c.id.in_(sorted(key_ids)), t.c.revoked_at.is_(None))
        )
        return key_ids - set(live)


async def require_live(db: Database, key_id: str) -> None:
    """For a stream opened with this key that asks for more (a WebSocket resume)."""
    if await revoked_among(db, {key_id}):
        raise Unauthorized(REVOKED)


@dataclass(frozen=True)
class ListedKey:
    """A live key as `rapport keys list` shows it, with its workspace's name."""

    workspace: str
    view: ApiKey


async def list_live(db: Database, workspace: str | None = None) -> list[ListedKey]:
    """Every unrevoked key (of one workspace, by name, when given), oldest first."""
    t, w = schema.api_keys, schema.workspaces
    query = (
        select(t, w.c.name.label("workspace_name"))
        .join(w, w.c.id == t.c.workspace_id)
        .where(t.c.revoked_at.is_(None))
        .order_by(w.c.name, t.c.created_at, t.c.id)
    )
    if workspace is not None:
        query = query.where(w.c.name == workspace)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [ListedKey(str(r["workspace_name"]), to_view(dict(r))) for r in rows]


async def revoke_any(db: Database, key_id: str) -> str:
    """Revoke a key whatever its workspace (the operator's command); returns the workspace id."""
    async with db.connect() as conn:
        workspace_id = await conn.scalar(
            select(schema.api_keys.c.workspace_id).where(
                schema.api_keys.c.id == key_id, schema.api_keys.c.revoked_at.is_(None)
            )
        )
    if workspace_id is None:
        raise NotFound(f"no live API key {key_id}")
    await revoke(db, str(workspace_id), key_id)
    return str(workspace_id)
