"""Export upkeep: lost jobs queued again, ended jobs failed, old ZIPs and dead uploads removed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from saq.job import Status
from sqlalchemy import update

from runtime.access import keys
from runtime.exports import records as exports
from runtime.exports import upkeep as export_upkeep
from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.services import Services
from runtime.stores import schema
from runtime.stores.blobs.base import PART_BYTES
from runtime.stores.database import Database
from tests.conftest import Server, s3_settings
from tests.helpers import converse, published_interview
from workers import sweeper


async def _workspace(db: Database, api_key: str) -> str:
    return (await keys.authenticate(db, api_key)).workspace_id


async def _poll(client: httpx.AsyncClient, export_id: str, status: str) -> dict[str, Any]:
    # Another task (the sweeper, then a job) moves it along: poll with a deadline.
    deadline = time.monotonic() + 30
    while True:
        view: dict[str, Any] = (await client.get(f"/v1/exports/{export_id}")).json()
        if view["status"] == status:
            return view
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("job_worker")
async def test_sweeper_queues_an_export_whose_enqueue_was_lost(
    settings: Settings,
    server: Server,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    db: Database,
    api_key: str,
) -> None:
    interview = await published_interview(client)
    await converse(anon, interview["share_token"], ["Daily."])
    # The row as the API inserts it, with the enqueue that follows it never done.
    row = await exports.create(
        db, await _workspace(db, api_key), {"interview_id": interview["id"], "include_audio": False}
    )
    jobs = server.app.state.services.jobs
    assert await jobs.job(exports.job_key(row["id"])) is None
    eager = await Services.open(dataclasses.replace(settings, export_upkeep_seconds=0.1))
    stop_sweeper = await sweeper.start_in_process(eager)
    try:
        done = await _poll(client, row["id"], "succeeded")
    finally:
        await stop_sweeper()
        await eager.close()
    assert done["counts"]["sessions_total"] == 1 and done["url"]


async def test_an_export_whose_job_ended_unfinished_is_failed(
    server: Server, client: httpx.AsyncClient, db: Database, api_key: str
) -> None:
    services = server.app.state.services
    row = await exports.create(db, await _workspace(db, api_key), {})
    assert await exports.enqueue(services.jobs, 2, row["id"])
    await exports.started(db, row["id"], 5)
    job = await services.jobs.job(exports.job_key(row["id"]))
    assert job is not None
    # What saq leaves when a worker dies on the job's last attempt: the job failed, the
    # export still says running.
    await services.jobs.queue.finish(job, Status.FAILED, error="worker lost")
    upkept = await export_upkeep.run(services)
    assert upkept.lost >= 1
    view = (await client.get(f"/v1/exports/{row['id']}")).json()
    assert view["status"] == "failed" and "without finishing" in view["error"]
    assert view["completed_at"] is not None


@pytest.fixture(params=["local", "s3"])
async def store_services(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[Services]:
    if request.param == "s3":
        settings = s3_settings(settings, request.getfixturevalue("rgw"), "exports-upkeep")
    services = await Services.open(settings)
    yield services
    await services.close()


async def _succeeded(services: Services, workspace_id: str, age: timedelta) -> str:
    row = await exports.create(services.db, workspace_id, {})
    key = exports.blob_key(row["id"])
    await services.blobs.put(key, b"PK\x05\x06" + bytes(18), "application/zip")
    assert await exports.succeeded(services.db, row["id"], key, 22, 0, 0, 0)
    async with services.db.begin() as conn:
        await conn.execute(
            update(schema.exports)
            .where(schema.exports.c.id == row["id"])
            .values(completed_at=utcnow() - age)
        )
    return str(row["id"])


async def test_old_exports_expire_and_dead_uploads_are_aborted(
    store_services: Services, server: Server, client: httpx.AsyncClient, api_key: str
) -> None:
    services = store_services
    workspace_id = await _workspace(services.db, api_key)
    retention = timedelta(hours=services.settings.export_retention_hours)
    old = await _succeeded(services, workspace_id, retention + timedelta(hours=1))
    recent = await _succeeded(services, workspace_id, retention - timedelta(days=2))
    # A killed export writer's upload (parts stored, never completed) and an audio upload.
    dead = await services.blobs.writer(f"{export_upkeep.PREFIX}exp_dead{old}.zip", "x/y")
    await dead.write(bytes(PART_BYTES + 1))
    audio = await services.blobs.writer(f"audio/upkeep-{old}.webm", "audio/webm")
    await audio.write(bytes(PART_BYTES + 1))

    now = utcnow()
    upkept = await export_upkeep.run(services, now)
    assert upkept.expired >= 1 and upkept.uploads_aborted == 0  # the upload: not a day old
    a_day_on = await export_upkeep.run(services, now + timedelta(days=1, minutes=1))
    assert a_day_on.uploads_aborted == 1

    expired = (await client.get(f"/v1/exports/{old}")).json()
    assert expired["status"] == "expired" and expired["url"] is None
    assert expired["progress"] == 1.0 and expired["size_bytes"] == 22
    assert await services.blobs.info(exports.blob_key(old)) is None
    assert (await exports.load(services.db, old)).blob_key is None
    kept = (await client.get(f"/v1/exports/{recent}")).json()
    assert kept["status"] == "succeeded"
    assert await services.blobs.info(exports.blob_key(recent)) is not None
    listed = await client.get("/v1/exports", params={"status": "expired"})
    assert old in [e["id"] for e in listed.json()["items"]]
    await audio.complete()  # outside the exports prefix: left alone
    assert await services.blobs.info(f"audio/upkeep-{old}.webm") is not None
    deleted = await client.delete(f"/v1/exports/{old}")
    assert deleted.status_code == 204
