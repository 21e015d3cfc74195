"""The blob store in a local directory, with links the API signs and serves itself."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from runtime.platform import signing
from runtime.platform.errors import Forbidden, NotFound
from runtime.platform.private_files import (
    DIR_MODE,
    open_private,
    private_dir,
    tighten_tree,
    write_private,
)
from runtime.platform.settings import Settings
from runtime.stores.blobs.base import CHUNK_BYTES, BlobInfo, BlobStore, BlobWriter, check_key

# A Unix time in seconds: ASCII digits, few enough that int() takes them and time allows.
_EXPIRES = re.compile(r"[0-9]{1,12}")


def _signature(secret: str, key: str, expires: int, filename: str) -> str:
    return signing.token(secret, f"blob\n{key}\n{expires}\n{filename}")


def verify_signature(secret: str, key: str, expires: str, filename: str, signature: str) -> None:
    """Raise Forbidden unless the local URL was signed by us and has not expired."""
    if not _EXPIRES.fullmatch(expires):
        raise Forbidden("this link is not valid")
    expected = _signature(secret, key, int(expires), filename)
    if not signing.matches(expected, signature):
        raise Forbidden("this link is not valid")
    if int(expires) < time.time():
        raise Forbidden("this link has expired")


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path, secret: str, settings: Settings) -> None:
        self.root = root
        self.secret = secret
        self.base_url = settings.public_base_url

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def prepare(self) -> None:
        await asyncio.to_thread(self._make_private)

    def _make_private(self) -> None:
        # Owner-only, every directory and blob. A root that is not yet 0700 was written by an
        # earlier version (or by hand): tighten all of it, once.
        if self.root.exists() and stat.S_IMODE(self.root.stat().st_mode) != DIR_MODE:
            tighten_tree(self.root)
        private_dir(self.root)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        writer = await self.writer(key, content_type)
        await writer.write(data)
        await writer.complete()

    async def writer(self, key: str, content_type: str) -> BlobWriter:
        target = self.path(key)
        await asyncio.to_thread(private_dir, target.parent)
        # A writer killed mid-way (a crashed worker) leaves its partial file: the job that
        # takes over writes the same key, so clear them.
        for stale in await asyncio.to_thread(list, target.parent.glob(f".{target.name}.*.partial")):
            await asyncio.to_thread(stale.unlink, missing_ok=True)
        return _LocalWriter(target, content_type)

    def stat(self, key: str) -> BlobInfo | None:
        target = self.path(key)
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            return None
        kind = _read_text(target.with_name(target.name + ".type"))
        return BlobInfo(key, size, kind or "application/octet-stream")

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {key}") from exc
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        target = self.path(key)
        for path in (target, target.with_name(target.name + ".type")):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix, prefix)

    def _delete_prefix(self, prefix: str) -> int:
        folder, _, stem = prefix.rpartition("/")
        base = self.root / check_key(folder) if folder else self.root
        if not base.is_dir():
            return 0
        # Only what begins with the stem (or is its hidden partial file): never a listing of
        # the whole folder, which holds every session's recordings.
        pattern = glob.escape(stem) + "*"
        found = {*base.glob(pattern), *base.glob("." + pattern)}
        deleted = 0
        for path in sorted(found):
            if path.is_dir():
                # A folder under the prefix: all of it goes, files before their folders.
                inside = sorted(path.rglob("*"), reverse=True)
                deleted += sum(_remove(p) for p in inside)
                path.rmdir()
            elif _object_name(path.name).startswith(stem):
                deleted += _remove(path)
        if not stem and base != self.root and not any(base.iterdir()):
            base.rmdir()
        return deleted

    async def abort_stale_uploads(self, prefix: str, before: datetime) -> int:
        return await asyncio.to_thread(self._remove_partials, prefix, before.timestamp())

    def _remove_partials(self, prefix: str, before: float) -> int:
        # A partial file is `.<name>.<pid>.<writer>.partial` beside the object it becomes.
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        removed = 0
        for partial in folder.rglob(".*.partial") if folder.is_dir() else ():
            name = _object_name(partial.name)
            key = (partial.parent / name).relative_to(self.root).as_posix()
            if key.startswith(prefix):
                removed += _unlink_if_older(partial, before)
        return removed

    async def signed_url(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        expires = int(time.time()) + ttl_seconds
        name = filename or ""
        query = {
            "expires": str(expires),
            "sig": _signature(self.secret, check_key(key), expires, name),
        }
        if name:
            query["filename"] = name
        return f"{self.base_url}/v1/blobs/{quote(key)}?{urlencode(query)}"


def _object_name(name: str) -> str:
    """The object a file of the store is, or is the type or the unfinished write of."""
    if name.startswith(".") and name.endswith(".partial"):
        name = name[1:].rsplit(".", 3)[0]
    return name.removesuffix(".type")


def _remove(path: Path) -> int:
    """Delete one file (or empty folder) of the store; 1 if it was an object itself."""
    if path.is_dir():
        path.rmdir()
        return 0
    path.unlink(missing_ok=True)
    return int(_object_name(path.name) == path.name)


def _unlink_if_older(path: Path, before: float) -> int:
    try:
        if path.stat().st_mtime >= before:
            return 0
        path.unlink()
    except FileNotFoundError:  # completed or aborted meanwhile
        return 0
    return 1


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


class _LocalWriter(BlobWriter):
    def __init__(self, target: Path, content_type: str) -> None:
        self.target = target
        self.content_type = content_type
        self.partial = target.with_name(f".{target.name}.{os.getpid()}.{id(self)}.partial")
        self.handle: Any = None

    async def write(self, data: bytes) -> None:
        if self.handle is None:
            self.handle = await asyncio.to_thread(self._open)
        await asyncio.to_thread(self.handle.write, data)

    async def complete(self) -> None:
        if self.handle is None:
            self.handle = await asyncio.to_thread(self._open)
        await asyncio.to_thread(self._finish)

    def _open(self) -> Any:
        # Owner-only from the start: the rename below keeps the mode.
        return os.fdopen(open_private(self.partial), "wb")

    def _finish(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        write_private(self.target.with_name(self.target.name + ".type"), self.content_type)
        # rename is atomic: a reader sees the whole object or none of it.
        os.replace(self.partial, self.target)

    async def abort(self) -> None:
        if self.handle is not None:
            await asyncio.to_thread(self.handle.close)
        await asyncio.to_thread(self.partial.unlink, missing_ok=True)
