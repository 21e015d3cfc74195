"""The export job: writes an export's ZIP to the blob store by multipart upload, exactly once."""

from __future__ import annotations

import asyncio
import functools
import time

import structlog

from runtime.exports import members as export_members
from runtime.exports import pdfs as export_pdfs
from runtime.exports import records as exports
from runtime.exports import synthesis as export_synthesis
from runtime.exports.formats import ZipExport
from runtime.exports.source import Source
from runtime.platform.errors import NotFound
from runtime.services import Services
from workers.types import JobContext

log = structlog.get_logger(__name__)
PROGRESS_EVERY_SECONDS = 0.5


async def run_export(ctx: JobContext, *, export_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    try:
        return await _run(ctx, services, export_id)
    except Exception as exc:
        job = ctx.get("job")
        if job is None or job.attempts >= job.retries:
            await exports.failed(services.db, export_id, f"{type(exc).__name__}: {exc}")
        raise


async def _run(ctx: JobContext, services: Services, export_id: str) -> dict[str, object]:
    db, blobs = services.db, services.blobs
    try:
        row = await exports.load(db, export_id)
    except NotFound:  # deleted (only possible once it had failed) while its job waited
        return {"export_id": export_id, "deleted": True}
    if row.status in exports.FINISHED:
        return {"export_id": export_id, "already": True}
    # The export covers the sessions that existed when it was asked for, so a retry after
    # a crash writes the same file.
    source = Source(
        db,
        exports.selection(row),
        services.settings.export_page_size,
        cutoff=row.created_at,
        admit=functools.partial(export_members.record, db, export_id),
    )
    await exports.started(db, export_id, await source.count())
    pause = services.settings.export_page_pause_ms / 1000
    last = 0.0

    async def on_session(done: int) -> None:
        nonlocal last
        if pause and done % source.page_size == 0:
            await asyncio.sleep(pause)  # eases load on the database between pages
        if time.monotonic() - last >= PROGRESS_EVERY_SECONDS:
            last = time.monotonic()
            await exports.progressed(db, export_id, done)
            job = ctx.get("job")
            if job is not None:
                total = (await exports.load(db, export_id)).sessions_total or 1
                await job.update(progress=min(done / total, 0.99))

    options = row.options
    export = ZipExport(
        source,
        blobs,
        options["format"],
        include_audio=options["include_audio"],
        include_pdf=options["include_pdf"],
        # Exports asked for before the option existed have no such key.
        include_synthesis=options.get("include_synthesis", False),
        synthesis_for=functools.partial(
            export_synthesis.for_export,
            db,
            source.selection,
            row.created_at,
            services.settings.pdf_font_dirs,
            functools.partial(export_members.record, db, export_id),
        ),
        on_session=on_session,
        pdf_for=functools.partial(
            export_pdfs.for_export,
            blobs,
            render_missing=True,
            font_dirs=services.settings.pdf_font_dirs,
        ),
    )
    key = exports.blob_key(export_id)
    writer = await blobs.writer(key, "application/zip")
    size = 0
    try:
        async for chunk in export.chunks():
            size += len(chunk)
            await writer.write(chunk)
        # Written once: if another worker finished this export meanwhile, drop ours.
        if (await exports.load(db, export_id)).status == "succeeded":
            await writer.abort()
            return {"export_id": export_id, "already": True}
        await writer.complete()
    except BaseException:
        await writer.abort()
        raise
    audio_files = sum(1 for f in export.files if f["path"].startswith("audio/"))
    await exports.succeeded(
        db, export_id, key, size, export.sessions, audio_files, len(export.audio_missing)
    )
    log.info("export.succeeded", export_id=export_id, sessions=export.sessions, bytes=size)
    return {"export_id": export_id, "sessions": export.sessions, "bytes": size}
