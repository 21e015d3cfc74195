"""Where anything of a session could remain: every SQL table, every Redis key, every blob."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Connection, MetaData, select

from runtime.stores.blobs import BlobStore
from runtime.stores.blobs.local import LocalBlobStore
from runtime.stores.blobs.s3 import S3BlobStore
from runtime.stores.database import Database


@dataclass(frozen=True)
class Found:
    where: str  # table, Redis key or blob key
    text: str  # the row or value as searched


def _mentions(text: str, needles: tuple[str, ...]) -> bool:
    return any(n in text for n in needles)


async def sql_rows(db: Database, needles: tuple[str, ...]) -> list[Found]:
    """Rows of every table in the database (reflected: tables the code forgot count too)."""

    def scan(conn: Connection) -> list[Found]:
        tables = MetaData()
        tables.reflect(conn)
        out = []
        for table in tables.sorted_tables:
            for row in conn.execute(select(table)):
                text = json.dumps(dict(row._mapping), default=str, ensure_ascii=False)
                if _mentions(text, needles):
                    out.append(Found(table.name, text))
        return out

    async with db.connect() as conn:
        return await conn.run_sync(scan)


def _decoded(raw: bytes) -> str:
    text = raw.decode(errors="replace")
    # Idempotency records keep the answer's body in base64: search it as it was sent.
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if isinstance(record, dict) and isinstance(record.get("body"), str):
        try:
            text += base64.b64decode(record["body"]).decode(errors="replace")
        except (binascii.Error, ValueError):
            pass
    return text


async def redis_entries(redis: Redis, needles: tuple[str, ...]) -> list[Found]:
    """Every key whose name or value mentions a needle (values read whatever their type)."""
    out = []
    async for raw_key in redis.scan_iter(count=1000):
        key = raw_key.decode()
        kind = (await redis.type(raw_key)).decode()
        parts: list[bytes] = []
        if kind == "string":
            value = await redis.get(raw_key)
            parts = [value] if value is not None else []
        elif kind == "hash":
            for k, v in (await redis.hgetall(raw_key)).items():  # type: ignore[misc]
                parts += [k, v]
        elif kind == "stream":
            for entry_id, fields in await redis.xrange(raw_key):
                parts.append(entry_id)
                for k, v in fields.items():
                    parts += [k, v]
        elif kind == "zset":
            parts = list(await redis.zrange(raw_key, 0, -1))
        elif kind == "set":
            parts = list(await redis.smembers(raw_key))  # type: ignore[misc]
        elif kind == "list":
            parts = list(await redis.lrange(raw_key, 0, -1))  # type: ignore[misc]
        text = key + "\n" + "\n".join(_decoded(p) for p in parts)
        if _mentions(text, needles):
            out.append(Found(key, text))
    return out


async def blob_keys(blobs: BlobStore) -> list[str]:
    """Every object in the store, and every upload begun and not finished."""
    if isinstance(blobs, LocalBlobStore):

        def walk() -> list[str]:
            root = blobs.root
            return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]

        return await asyncio.to_thread(walk)
    assert isinstance(blobs, S3BlobStore)

    def listing() -> list[str]:
        client: Any = blobs.client
        keys = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=blobs.bucket):
            keys += [o["Key"] for o in page.get("Contents", [])]
        uploads = client.list_multipart_uploads(Bucket=blobs.bucket)
        keys += [f"(upload) {u['Key']}" for u in uploads.get("Uploads", [])]
        return keys

    return await asyncio.to_thread(listing)
