"""An export survives its worker being killed: another `rapport worker` finishes it, once.

The workers write to S3 (a real Ceph RGW with versioning on, so every write of the export
shows as a version) by multipart upload, eight sessions' worth of 1-session pages apart.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.export_seed import seed_sessions
from runtime.access import keys
from runtime.exports import records as exports
from runtime.platform.settings import Settings
from runtime.stores.blobs.s3 import S3BlobStore
from tests.conftest import Server, s3_settings
from tests.helpers import audio_bytes, published_interview
from tests.processes import WorkerProcess

SESSIONS = 8


async def _export_state(client: httpx.AsyncClient, export_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/exports/{export_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _until(client: httpx.AsyncClient, export_id: str, ready: Any, within: float) -> Any:
    # The export's state lives in SQL and changes in another process: poll with a deadline.
    deadline = time.monotonic() + within
    while True:
        state = await _export_state(client, export_id)
        if ready(state):
            return state
        assert time.monotonic() < deadline, f"export never got there: {state}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def s3(settings: Settings, rgw: Any) -> Settings:
    return s3_settings(settings, rgw, "exports-recovery")


async def test_killed_worker_export_completes_once(
    server: Server, client: httpx.AsyncClient, api_key: str, s3: Settings, tmp_path: Path
) -> None:
    store = S3BlobStore(s3)
    await store.prepare()
    await asyncio.to_thread(
        store.client.put_bucket_versioning,
        Bucket=s3.s3_bucket,
        VersioningConfiguration={"Status": "Enabled"},
    )
    recording = await audio_bytes("webm")
    await store.put("audio/seed-recording.webm", recording, "audio/webm")
    interview = await published_interview(client)
    workspace_id = (await keys.authenticate(server.app.state.services.db, api_key)).workspace_id
    ids = await seed_sessions(
        server.app.state.services.db, workspace_id, interview["id"], SESSIONS,
        audio_key="audio/seed-recording.webm", audio_size=len(recording),
    )  # fmt: skip
    created = await client.post("/v1/exports", json={"interview_id": interview["id"]})
    export_id = created.json()["id"]
    env = {
        "DATABASE_URL": s3.database_url,
        "REDIS_URL": s3.redis_url or "",
        "RAPPORT_SECRET_KEY": s3.secret_key,
        "RAPPORT_BLOB_STORE": "s3",
        "RAPPORT_S3_ENDPOINT_URL": s3.s3_endpoint_url,
        "RAPPORT_S3_BUCKET": s3.s3_bucket,
        "RAPPORT_S3_ACCESS_KEY_ID": s3.s3_access_key,
        "RAPPORT_S3_SECRET_ACCESS_KEY": s3.s3_secret_key,
        "RAPPORT_S3_PATH_STYLE": "1",
        "RAPPORT_EXPORT_PAGE_SIZE": "1",
        "RAPPORT_EXPORT_PAGE_PAUSE_MS": "400",
        "RAPPORT_JOB_SWEEP_SECONDS": "1",
    }
    first = await WorkerProcess(env, tmp_path / "first").start()
    try:
        midway = await _until(
            client, export_id, lambda s: s["counts"]["sessions_done"] >= 2, within=60
        )
    finally:
        await first.kill()
    assert midway["status"] == "running" and midway["counts"]["sessions_done"] < SESSIONS
    second = await WorkerProcess(env, tmp_path / "second").start()
    try:
        done = await _until(
            client, export_id, lambda s: s["status"] in ("succeeded", "failed"), within=90
        )
    finally:
        assert await second.stop() == 0
    assert done["status"] == "succeeded", done
    assert done["counts"] == {
        "sessions_total": SESSIONS, "sessions_done": SESSIONS,
        "audio_files": SESSIONS, "audio_missing": 0,
    }  # fmt: skip
    job = await server.app.state.services.jobs.job(exports.job_key(export_id))
    assert job is not None and job.attempts >= 2, "the second worker took the job over"

    key = exports.blob_key(export_id)
    versions = await asyncio.to_thread(
        store.client.list_object_versions, Bucket=s3.s3_bucket, Prefix=key
    )
    assert len(versions.get("Versions", [])) == 1, "the export was written exactly once"
    uploads = await asyncio.to_thread(
        store.client.list_multipart_uploads, Bucket=s3.s3_bucket, Prefix=key
    )
    assert uploads.get("Uploads", []) == [], "the killed worker's upload was cleared"
    async with httpx.AsyncClient() as http:
        fetched = await http.get(await store.signed_url(key, 60))
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as archive:
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        names = archive.namelist()
        assert archive.read(f"audio/{ids[0]}.webm") == recording
    assert manifest["sessions"] == SESSIONS and manifest["audio_missing"] == []
    audio = [f"audio/{i}.webm" for i in ids]
    assert names == ["transcripts.json", "coverage.csv", *audio, "manifest.json"]
    await store.close()
