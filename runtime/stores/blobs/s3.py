"""The blob store on any S3-compatible endpoint, through boto3 calls run in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from runtime.platform.errors import NotFound
from runtime.platform.settings import Settings
from runtime.stores.blobs.base import (
    CHUNK_BYTES,
    PART_BYTES,
    BlobInfo,
    BlobStore,
    BlobWriter,
    check_key,
)


class S3BlobStore(BlobStore):
    def __init__(self, settings: Settings, *, quick: bool = False) -> None:
        self.bucket = settings.s3_bucket
        # quick: a health check's client, which must answer (or fail) within seconds.
        timeouts = {"connect_timeout": 2, "read_timeout": 3} if quick else {}
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
            retries={"max_attempts": 1 if quick else 5, "mode": "standard"},
            **timeouts,
        )
        session = boto3.session.Session()

        def client(endpoint: str) -> Any:
            return session.client(
                "s3",
                endpoint_url=endpoint or None,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key or None,
                aws_secret_access_key=settings.s3_secret_key or None,
                config=config,
            )

        self.client: Any = client(settings.s3_endpoint_url)
        # A SigV4 signature covers the host: a link for a browser must be signed for the
        # address the browser uses (http://localhost:9000), not the one this process uses
        # (http://s3:9000 inside compose). Signing makes no request.
        self.link_client: Any = (
            client(settings.s3_public_url) if settings.s3_public_url else self.client
        )

    async def prepare(self) -> None:
        """Create the bucket if it is missing (first start of a fresh store)."""

        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self.client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(create)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def writer(self, key: str, content_type: str) -> BlobWriter:
        # A writer killed mid-way (a crashed worker) leaves its upload open and its parts
        # stored: the job that takes over writes the same key, so abort those first.
        await asyncio.to_thread(self._abort_open_uploads, check_key(key))
        return _MultipartWriter(self, key, content_type)

    def _abort_open_uploads(self, key: str) -> None:
        listed = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        for upload in listed.get("Uploads", []):
            if upload["Key"] == key:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                )

    async def abort_stale_uploads(self, prefix: str, before: datetime) -> int:
        return await asyncio.to_thread(self._abort_stale, prefix, before)

    def _abort_stale(self, prefix: str, before: datetime) -> int:
        aborted = 0
        pages = self.client.get_paginator("list_multipart_uploads")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    def stat(self, key: str) -> BlobInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return BlobInfo(key, int(head["ContentLength"]), str(head.get("ContentType", "")))

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise NotFound(f"no blob {key}") from exc
            raise
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=check_key(key))

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix, check_key(prefix))

    def _delete_prefix(self, prefix: str) -> int:
        uploads = self.client.get_paginator("list_multipart_uploads")
        for page in uploads.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        deleted = 0
        objects = self.client.get_paginator("list_objects_v2")
        for page in objects.paginate(Bucket=self.bucket, Prefix=prefix):
            # A listing page holds at most 1,000 keys: as many as one DeleteObjects takes.
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                done = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if done.get("Errors"):
                    first = done["Errors"][0]
                    raise RuntimeError(f"could not delete {first['Key']}: {first['Code']}")
                deleted += len(keys)
        return deleted

    async def signed_url(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url = await asyncio.to_thread(
            self.link_client.generate_presigned_url,
            "get_object",
            Params=params,
            ExpiresIn=ttl_seconds,
        )
        return str(url)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
        if self.link_client is not self.client:
            await asyncio.to_thread(self.link_client.close)


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class _MultipartWriter(BlobWriter):
    """Uploads 8 MiB parts as they fill; a small object becomes one plain PUT."""

    def __init__(self, store: S3BlobStore, key: str, content_type: str) -> None:
        self.store = store
        self.key = key
        self.content_type = content_type
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    async def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            part = bytes(self.buffer[:PART_BYTES])
            del self.buffer[:PART_BYTES]
            await asyncio.to_thread(self._upload_part, part)

    def _upload_part(self, part: bytes) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            created = client.create_multipart_upload(
                Bucket=bucket, Key=self.key, ContentType=self.content_type
            )
            self.upload_id = str(created["UploadId"])
        number = len(self.parts) + 1
        done = client.upload_part(
            Bucket=bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=part
        )
        self.parts.append({"ETag": done["ETag"], "PartNumber": number})

    async def complete(self) -> None:
        if self.upload_id is None:
            await self.store.put(self.key, bytes(self.buffer), self.content_type)
            self.buffer.clear()
            return
        if self.buffer:
            await asyncio.to_thread(self._upload_part, bytes(self.buffer))
            self.buffer.clear()
        await asyncio.to_thread(
            self.store.client.complete_multipart_upload,
            Bucket=self.store.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    async def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            await asyncio.to_thread(
                self.store.client.abort_multipart_upload,
                Bucket=self.store.bucket,
                Key=self.key,
                UploadId=self.upload_id,
            )
