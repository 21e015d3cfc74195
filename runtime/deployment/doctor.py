"""What a deployment needs, checked: each check says what it found and the exact fix.

`rapport doctor` prints the checks; `rapport serve` and `rapport worker` log them once at
start-up, in the background, each bounded by CHECK_TIMEOUT_SECONDS. A feature adds its own
check to CHECKS (the voice feature: one per configured speech endpoint, skipped when none
is configured).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import redis.asyncio
import structlog
from sqlalchemy import text

from runtime.deployment import instances
from runtime.engines import upstream as llm_upstream
from runtime.engines.upstream import UpstreamProbe
from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings
from runtime.stores import embedded_redis as redis_server
from runtime.stores.blobs import BlobStore, open_store
from runtime.stores.database import Database

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 10.0
Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status  # fail: something required is broken; warn: a feature degrades
    detail: str
    fix: str = ""


@dataclass
class Context:
    """What the checks may share with the process running them."""

    settings: Settings
    upstream: UpstreamProbe


Check = Callable[[Context], Awaitable[Finding]]


async def ffmpeg(ctx: Context) -> Finding:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        return Finding(
            "ffmpeg",
            "warn",
            f"{' and '.join(missing)} not on PATH: audio uploads and recorded utterances "
            "are refused",
            "apt-get install ffmpeg",
        )
    return Finding("ffmpeg", "ok", str(shutil.which("ffmpeg")))


async def speech(ctx: Context) -> Finding:
    """Voice mode's local engines (docs/voice.md): what a voice interview cannot do here."""
    settings = ctx.settings
    gaps: list[str] = []
    fixes: list[str] = []
    if settings.tts_engine != "openai" and shutil.which("espeak-ng") is None:
        gaps.append(
            "espeak-ng is not on PATH: voice interviews cannot speak (the respondent "
            "is told, reads the captions and may type)"
        )
        fixes.append("apt-get install espeak-ng")
    if settings.stt_engine != "openai" and importlib.util.find_spec("pocketsphinx") is None:
        gaps.append("pocketsphinx is not installed: voice interviews cannot hear")
        fixes.append("pip install pocketsphinx")
    if gaps:
        return Finding("speech", "warn", "; ".join(gaps), " && ".join(fixes))
    heard = "an OpenAI-compatible endpoint" if settings.stt_engine == "openai" else "pocketsphinx"
    said = "an OpenAI-compatible endpoint" if settings.tts_engine == "openai" else "espeak-ng"
    return Finding("speech", "ok", f"recognition by {heard}, synthesis by {said}")


async def fonts(ctx: Context) -> Finding:
    dirs = ctx.settings.pdf_font_dirs
    where = ":".join(map(str, dirs)) or "(none)"
    # In a process of its own (runtime.transcripts.pdf.report says why).
    out = await _output(
        sys.executable, "-m", "runtime.transcripts.pdf.report", os.pathsep.join(map(str, dirs))
    )
    if out is None:
        return Finding(
            "fonts", "fail", "the font check did not run (python -m runtime.transcripts.pdf.report)"
        )
    found = json.loads(out)
    if "error" in found:
        return Finding(
            "fonts", "warn", f"PDFs fail: {found['error']}", "apt-get install fonts-noto-core"
        )
    can, cannot = found["can"], found["cannot"]
    if cannot:
        return Finding(
            "fonts",
            "warn",
            f"PDFs draw {', '.join(can)}; they cannot draw {', '.join(cannot)} (shown as "
            f"\ufffd), with the fonts under {where}",
            "apt-get install " + " ".join(found["packages"]),
        )
    return Finding("fonts", "ok", f"PDFs draw {', '.join(can)}")


async def redis_check(ctx: Context) -> Finding:
    settings = ctx.settings
    embedded = redis_server.EmbeddedRedis(settings.data_dir)
    if settings.redis_url and settings.redis_url != embedded.url:
        client = redis.asyncio.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            await client.execute_command("PING")  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            return Finding(
                "redis",
                "fail",
                f"REDIS_URL does not answer: {type(exc).__name__}: {exc}",
                "start that Redis, or correct REDIS_URL (unset: the embedded one)",
            )
        finally:
            await client.aclose()
        return Finding("redis", "ok", "REDIS_URL answers")
    owner = redis_server.owner_of(settings.data_dir)
    if owner is not None:
        if not await asyncio.to_thread(embedded.answers):
            return Finding(
                "redis",
                "fail",
                f"the embedded Redis of {owner} does not answer",
                f"restart {owner}; see {settings.data_dir.resolve()}/redis.log",
            )
        return Finding("redis", "ok", f"embedded, run by {owner}")
    try:
        binary = redis_server.binary()
    except ConfigurationError as exc:
        return Finding("redis", "fail", str(exc), "apt-get install redis-server")
    version = await _output(binary, "--version")
    if version is None:
        return Finding("redis", "fail", f"{binary} does not run", "apt-get install redis-server")
    # "Redis server v=7.0.15 sha=… malloc=…": the version is what matters.
    number = next((w[2:] for w in version.split() if w.startswith("v=")), version)
    return Finding("redis", "ok", f"embedded: `rapport serve` will start {binary} ({number})")


async def database(ctx: Context) -> Finding:
    settings = ctx.settings
    path = instances.sqlite_path(settings)
    if path is not None and not path.exists():
        servers = [str(s) for s in instances.elsewhere(settings)]
        return Finding(
            "database",
            "warn",
            f"no database at {path} yet" + (f"; {'; '.join(servers)}" if servers else ""),
            "rapport migrate (or rapport serve, which migrates first), or --data-dir",
        )
    where = path or instances.database_of(settings)
    db = Database.from_settings(settings)
    try:
        async with db.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # unreachable, wrong credentials, no alembic table
        return Finding(
            "database",
            "fail",
            f"{where}: {type(exc).__name__}: {exc}".splitlines()[0],
            "check DATABASE_URL and that the database runs; then rapport migrate",
        )
    finally:
        await db.close()
    head = _head(settings.database_url)
    if current != head:
        return Finding(
            "database", "fail", f"{where} is at {current}, not at {head}", "rapport migrate"
        )
    return Finding("database", "ok", f"{where}, migrated to {head}")


def _head(database_url: str) -> str | None:
    from alembic.script import ScriptDirectory

    from runtime.stores.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def blobs(ctx: Context) -> Finding:
    settings = ctx.settings
    where = (
        f"{settings.data_dir.resolve()}/blobs"
        if settings.blob_store == "local"
        else f"s3 bucket {settings.s3_bucket} at {settings.s3_endpoint_url or 'AWS'}"
    )
    if settings.blob_store == "local" and not settings.data_dir.is_dir():
        return Finding(
            "blobs", "warn", f"no data directory at {settings.data_dir.resolve()} yet",
            "rapport serve creates it",
        )  # fmt: skip
    store: BlobStore = open_store(settings, quick=True)
    key = f"doctor/{uuid.uuid4().hex}"
    probe = b"rapport doctor probe"
    try:
        await store.put(key, probe, "text/plain")
        read = await store.read(key)
        await store.delete(key)
    except Exception as exc:  # permissions, no bucket, bad credentials, unreachable
        return Finding(
            "blobs",
            "fail",
            f"{where}: could not write, read and delete a probe: {type(exc).__name__}: {exc}",
            "check RAPPORT_BLOB_STORE and the RAPPORT_S3_* settings (docs/configuration.md)"
            if settings.blob_store == "s3"
            else f"make {where} writable by this user",
        )
    finally:
        await store.close()
    if read != probe:
        return Finding("blobs", "fail", f"{where} gave back other bytes than were written")
    return Finding("blobs", "ok", f"{where}: a probe was written, read and deleted")


async def llm(ctx: Context) -> Finding:
    status = await ctx.upstream.status()
    if status.state == "not_configured":
        return Finding(
            "llm",
            "skip",
            "not configured: interviews with engine llm are refused at publish",
            llm_upstream.SETUP,
        )
    if not status.ok:
        return Finding(
            "llm",
            "fail",
            f"{status.base_url}: {status.detail}",
            "start the LLM server, or correct RAPPORT_LLM_BASE_URL / RAPPORT_LLM_API_KEY",
        )
    return Finding("llm", "ok", f"{status.base_url}: {status.detail}")


CHECKS: list[tuple[str, Check]] = [
    ("ffmpeg", ffmpeg),
    ("speech", speech),
    ("fonts", fonts),
    ("redis", redis_check),
    ("database", database),
    ("blobs", blobs),
    ("llm", llm),
]


async def run(settings: Settings, upstream: UpstreamProbe | None = None) -> list[Finding]:
    """Every check, at once, each within CHECK_TIMEOUT_SECONDS."""
    probe = upstream or UpstreamProbe(settings)
    ctx = Context(settings, probe)
    try:
        return list(await asyncio.gather(*(_bounded(name, check, ctx) for name, check in CHECKS)))
    finally:
        if upstream is None:
            await probe.close()


async def _bounded(name: str, check: Check, ctx: Context) -> Finding:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check(ctx)
    except TimeoutError:
        return Finding(name, "fail", f"no answer within {CHECK_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # a check that breaks says so, the others still report
        return Finding(name, "fail", f"{type(exc).__name__}: {exc}")


def failed(findings: list[Finding]) -> bool:
    return any(f.status == "fail" for f in findings)


async def _output(*argv: str) -> str | None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:
        proc.kill()
        raise
    return out.decode(errors="replace").strip() if proc.returncode == 0 else None


_LEVELS = {"ok": "info", "skip": "info", "warn": "warning", "fail": "error"}


def log_findings(findings: list[Finding], took: float) -> None:
    for f in findings:
        getattr(log, _LEVELS[f.status])(
            "doctor.check", check=f.check, status=f.status, detail=f.detail, fix=f.fix or None
        )
    log.info("doctor.done", failed=failed(findings), took_ms=round(took * 1000))


class DoctorParts(Protocol):
    """What the in-process doctor needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    llm_upstream: UpstreamProbe


async def start_in_process(services: DoctorParts) -> Callable[[], Awaitable[None]]:
    """Run the checks once in the background, logging each; returns its stop function.
    (An `on_start` hook of the app, and of `rapport worker`: it never delays start-up.)"""

    async def checks() -> None:
        began = time.monotonic()
        found = await run(services.settings, services.llm_upstream)
        log_findings(found, time.monotonic() - began)

    task = asyncio.create_task(checks(), name="doctor")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return stop
