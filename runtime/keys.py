"""Workspaces and API keys: keys are shown once and stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from runtime import schema
from runtime.clock import utcnow
from runtime.database import Database
from runtime.errors import Unauthorized, ValidationError
from runtime.ids import hash_secret, new_id, new_secret

KEY_PREFIX = "rk_live_"
ALL_SCOPES = (
    "interviews:read",
    "interviews:write",
    "sessions:read",
    "sessions:write",
    "exports:write",
    "webhooks:manage",
    "keys:manage",
)
# Writing last_used_at on every request would make every read a write; minute precision is enough.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is calling the researcher API: a key inside one workspace."""

    workspace_id: str
    key_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class CreatedKey:
    id: str
    workspace_id: str
    plaintext: str
    prefix: str
    scopes: tuple[str, ...]


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


async def create_key(
    db: Database, workspace_id: str, name: str = "default", scopes: tuple[str, ...] = ALL_SCOPES
) -> CreatedKey:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationError(f"unknown scopes: {', '.join(unknown)}", field="scopes")
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
                created_at=utcnow(),
            )
        )
    return CreatedKey(key_id, workspace_id, plaintext, prefix, tuple(scopes))


async def authenticate(db: Database, plaintext: str) -> Principal:
    if not plaintext.startswith(KEY_PREFIX):
        raise Unauthorized("an API key (rk_live_…) is required")
    t = schema.api_keys
    async with db.connect() as conn:
        row = (
            (await conn.execute(select(t).where(t.c.key_hash == hash_secret(plaintext))))
            .mappings()
            .first()
        )
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("this API key is not valid")
    now = utcnow()
    if row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_INTERVAL:
        async with db.begin() as conn:
            await conn.execute(update(t).where(t.c.id == row["id"]).values(last_used_at=now))
    return Principal(row["workspace_id"], row["id"], frozenset(row["scopes"]))
