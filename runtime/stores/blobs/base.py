"""The blob store's interface: keys, object info, writers, and what every backend does."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime

PART_BYTES = 8 * 1024 * 1024  # S3's multipart parts: our own buffer, never the whole object
CHUNK_BYTES = 256 * 1024
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,500}$")


def check_key(key: str) -> str:
    if not KEY.match(key) or ".." in key or "//" in key:
        raise ValueError(f"not a valid blob key: {key!r}")
    return key


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    content_type: str


class BlobWriter(ABC):
    """Receives an object in pieces; nothing is visible under the key until `complete`."""

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abstractmethod
    async def complete(self) -> None: ...

    @abstractmethod
    async def abort(self) -> None: ...


class BlobStore(ABC):
    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def writer(self, key: str, content_type: str) -> BlobWriter: ...

    @abstractmethod
    def stat(self, key: str) -> BlobInfo | None:
        """Size and type, None if missing (blocking: the ZIP writer's thread calls it)."""

    async def info(self, key: str) -> BlobInfo | None:
        return await asyncio.to_thread(self.stat, key)

    @abstractmethod
    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes, read in pieces (blocking: run it in a thread)."""

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`, and abort the writes under it
        not yet completed; returns how many objects were deleted."""

    @abstractmethod
    async def signed_url(self, key: str, ttl_seconds: int, filename: str | None = None) -> str: ...

    @abstractmethod
    async def abort_stale_uploads(self, prefix: str, before: datetime) -> int:
        """Abort writes under `prefix` begun before `before` and never completed (a killed
        writer's); returns how many. Live writers are younger than any sensible `before`."""

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(lambda: b"".join(self.chunks(key)))

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        iterator = self.chunks(key)
        sentinel = object()
        while True:
            chunk = await asyncio.to_thread(next, iterator, sentinel)
            if chunk is sentinel:
                return
            assert isinstance(chunk, bytes)
            yield chunk

    async def prepare(self) -> None:
        """Called once when the process opens its services."""
        return None

    async def close(self) -> None:
        return None
