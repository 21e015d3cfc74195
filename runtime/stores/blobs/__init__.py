"""The blob store: audio, PDFs and exports, in a local directory or any S3-compatible bucket."""

from __future__ import annotations

from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings
from runtime.stores.blobs.base import BlobInfo, BlobStore, BlobWriter
from runtime.stores.blobs.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "BlobWriter", "open_store"]


def open_store(settings: Settings, *, quick: bool = False) -> BlobStore:
    """The deployment's store; `quick`: short timeouts and no retries (a health check)."""
    if settings.blob_store == "local":
        return LocalBlobStore(settings.data_dir / "blobs", settings.secret_key, settings)
    if settings.blob_store == "s3":
        from runtime.stores.blobs.s3 import S3BlobStore  # local: boto3 loads slowly

        return S3BlobStore(settings, quick=quick)
    raise ConfigurationError(f"RAPPORT_BLOB_STORE must be local or s3, not {settings.blob_store}")
