"""One contract for both blob stores: the local directory and S3 (a real Ceph RGW)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.stores.blobs import BlobStore, open_store
from runtime.stores.blobs.base import PART_BYTES
from tests.conftest import Server, s3_settings


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, server: Server) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        blobs = open_store(server.settings)
    else:
        blobs = open_store(s3_settings(server.settings, request.getfixturevalue("rgw"), "blobs"))
    await blobs.prepare()
    yield blobs
    await blobs.close()


def _absolute(server: Server, url: str) -> str:
    return server.url + url if url.startswith("/") else url


async def _get(server: Server, url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20) as http:
        return await http.get(_absolute(server, url))


def _key() -> str:
    return f"test/{uuid.uuid4().hex}/file.bin"


async def test_put_info_read_delete(store: BlobStore) -> None:
    key = _key()
    assert await store.info(key) is None
    await store.put(key, b"hello \x00 world", "audio/wav")
    info = await store.info(key)
    assert info is not None and info.size == 13 and info.content_type == "audio/wav"
    assert await store.read(key) == b"hello \x00 world"
    await store.delete(key)
    assert await store.info(key) is None
    with pytest.raises(NotFound):
        await store.read(key)


async def test_multipart_writer_assembles_parts_in_order(store: BlobStore) -> None:
    key = _key()
    data = os.urandom(PART_BYTES * 2 + 12345)  # two full parts and a short last one
    writer = await store.writer(key, "application/zip")
    for start in range(0, len(data), 3_000_000):
        await writer.write(data[start : start + 3_000_000])
    assert await store.info(key) is None  # nothing visible before complete
    await writer.complete()
    assert await store.read(key) == data
    info = await store.info(key)
    assert info is not None and info.size == len(data) and info.content_type == "application/zip"


async def test_aborted_writer_leaves_nothing(store: BlobStore) -> None:
    key = _key()
    writer = await store.writer(key, "application/zip")
    await writer.write(os.urandom(PART_BYTES + 10))
    await writer.abort()
    assert await store.info(key) is None


async def test_stale_uploads_under_a_prefix_are_aborted(store: BlobStore) -> None:
    # A writer killed mid-way: begun, parts stored, never completed nor aborted.
    prefix = f"stale-{uuid.uuid4().hex}/"
    dead, elsewhere = f"{prefix}dead.zip", _key()
    writers = {}
    for key in (dead, elsewhere):
        writers[key] = await store.writer(key, "application/zip")
        await writers[key].write(os.urandom(PART_BYTES + 10))
    assert await store.abort_stale_uploads(prefix, utcnow() - timedelta(days=1)) == 0
    assert await store.abort_stale_uploads(prefix, utcnow() + timedelta(minutes=1)) == 1
    assert await store.abort_stale_uploads(prefix, utcnow() + timedelta(minutes=1)) == 0
    with pytest.raises((ClientError, FileNotFoundError)):  # S3: NoSuchUpload; local: gone
        await writers[dead].complete()
    assert await store.info(dead) is None
    await writers[elsewhere].complete()  # outside the prefix: untouched
    info = await store.info(elsewhere)
    assert info is not None and info.size == PART_BYTES + 10


async def test_signed_url_serves_the_bytes_and_rejects_tampering(
    store: BlobStore, server: Server
) -> None:
    key, other = _key(), _key()
    await store.put(key, b"the right file", "text/plain")
    await store.put(other, b"someone else's file", "text/plain")
    url = await store.signed_url(key, 600, filename="right.txt")
    fetched = await _get(server, url)
    assert fetched.status_code == 200 and fetched.content == b"the right file"
    assert "right.txt" in fetched.headers["content-disposition"]

    tampered_key = url.replace(key, other)
    assert (await _get(server, tampered_key)).status_code == 403
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    signature_name = "sig" if "sig" in query else "X-Amz-Signature"
    query[signature_name] = ("0" if query[signature_name][0] != "0" else "1") + query[
        signature_name
    ][1:]
    forged = parts._replace(query=urlencode(query)).geturl()
    assert (await _get(server, forged)).status_code == 403
    expiry_name = "expires" if "expires" in query else "X-Amz-Expires"
    query = dict(parse_qsl(parts.query))
    query[expiry_name] = str(int(query[expiry_name]) + 100_000)
    assert (await _get(server, parts._replace(query=urlencode(query)).geturl())).status_code == 403


async def test_signed_url_expires(store: BlobStore, server: Server) -> None:
    key = _key()
    await store.put(key, b"short-lived", "text/plain")
    # Expiry has one-second resolution (ours and SigV4's): 3 s leaves at least 2 to fetch in.
    url = await store.signed_url(key, 3)
    assert (await _get(server, url)).status_code == 200
    # Expiry is a matter of the clock: there is no event to await, so poll with a deadline.
    deadline = time.monotonic() + 15
    status: Any = 200
    while status == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        status = (await _get(server, url)).status_code
    assert status == 403


async def test_delete_prefix_removes_objects_and_open_uploads_under_it_only(
    store: BlobStore,
) -> None:
    base = f"test/{uuid.uuid4().hex}"
    await store.put(f"{base}/ses_a/one.txt", b"1", "text/plain")
    await store.put(f"{base}/ses_a/deeper/two.pdf", b"2", "application/pdf")
    await store.put(f"{base}/ses_a.webm", b"3", "audio/webm")
    await store.put(f"{base}/ses_ab.webm", b"4", "audio/webm")  # a longer id: not under it
    await store.put(f"{base}/ses_b/three.txt", b"5", "text/plain")
    # A write still going on under the prefix (an upload being received) is cut off too.
    writer = await store.writer(f"{base}/ses_a/late.bin", "application/octet-stream")
    await writer.write(os.urandom(PART_BYTES + 10))

    removed = await store.delete_prefix(f"{base}/ses_a/")
    removed += await store.delete_prefix(f"{base}/ses_a.")

    assert removed == 3
    for gone in ("ses_a/one.txt", "ses_a/deeper/two.pdf", "ses_a.webm"):
        assert await store.info(f"{base}/{gone}") is None
    for kept in ("ses_ab.webm", "ses_b/three.txt"):
        assert await store.info(f"{base}/{kept}") is not None
    with pytest.raises((ClientError, FileNotFoundError)):  # its upload (or file) is gone
        await writer.complete()
    assert await store.info(f"{base}/ses_a/late.bin") is None
    assert await store.delete_prefix(f"{base}/ses_a/") == 0


@contextlib.asynccontextmanager
async def port_forward(target: str) -> AsyncIterator[str]:
    """Another address for `target` (http://host:port), as Docker's port publishing gives a
    compose service: bytes pass through untouched, Host header included. Yields its URL."""
    parts = urlsplit(target)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    listener = await asyncio.start_server(forward, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listener.close()
        await listener.wait_closed()


async def test_links_are_signed_for_the_public_s3_url(server: Server, rgw: Any) -> None:
    # The API reaches the store at its endpoint; browsers only at the public address.
    inside = s3_settings(server.settings, rgw, "public-links")
    async with port_forward(rgw.endpoint) as public:
        outside = dataclasses.replace(inside, s3_public_url=public)
        store, plain = open_store(outside), open_store(inside)
        await store.prepare()
        try:
            key = _key()
            await store.put(key, b"for the browser", "text/plain")
            url = await store.signed_url(key, 600, filename="x.txt")
            assert url.startswith(public + "/public-links/")
            fetched = await _get(server, url)
            assert fetched.status_code == 200 and fetched.content == b"for the browser"
            # Why a setting and not a rewrite: a link signed for the endpoint, pointed at
            # the public address, no longer matches its signature.
            rewritten = (await plain.signed_url(key, 600)).replace(rgw.endpoint, public)
            assert (await _get(server, rewritten)).status_code == 403
            # Everything but links still goes to the endpoint.
            assert await store.read(key) == b"for the browser"
        finally:
            await store.close()
            await plain.close()
