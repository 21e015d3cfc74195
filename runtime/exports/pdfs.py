"""A session's PDF as an export writes it: the cached one when it still matches, else rendered."""

from __future__ import annotations

from pathlib import Path

from runtime.exports.source import Entry
from runtime.platform.errors import ConfigurationError
from runtime.stores.blobs import BlobStore
from runtime.transcripts import document, pdf_files
from runtime.transcripts.coverage import coverage_rows, fingerprinted


async def for_export(
    blobs: BlobStore, entry: Entry, *, render_missing: bool, font_dirs: tuple[Path, ...] = ()
) -> bytes | None:
    """The entry's PDF as the export shows it: the cached one when it matches (never for an
    anonymised export, whose metadata differs), else rendered now if `render_missing` and
    there is a font to draw it with (the manifest lists the entries left without)."""
    title, fields = str(entry.interview["title"]), entry.transcript_fields()
    rows = coverage_rows(entry.coverage())
    fingerprint = document.fingerprint(title, fingerprinted(fields, rows), entry.messages)
    if entry.pdf is not None and entry.pdf["fingerprint"] == fingerprint:
        key = str(entry.pdf["blob_key"])
        if await blobs.info(key) is not None:
            return await blobs.read(key)
    if not render_missing:
        return None
    try:
        return await pdf_files.render(
            str(entry.interview["title"]), fields, entry.messages, font_dirs, rows
        )
    except ConfigurationError:
        return None
