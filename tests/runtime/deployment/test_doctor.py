"""The deployment checks (`rapport doctor`, and the start-up log), against real services."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from runtime.deployment import doctor
from runtime.platform.settings import Settings
from tests.conftest import free_port, s3_settings
from tests.runtime.transcripts.test_pdf import only_dejavu


def by_check(findings: list[doctor.Finding]) -> dict[str, doctor.Finding]:
    return {f.check: f for f in findings}


async def test_every_check_passes_on_the_test_stores(settings: Settings) -> None:
    found = by_check(await doctor.run(settings))
    assert list(found) == [name for name, _ in doctor.CHECKS]
    assert {name: f.status for name, f in found.items()} == {
        "ffmpeg": "ok",
        "speech": "ok",
        "fonts": "ok",
        "redis": "ok",
        "database": "ok",
        "blobs": "ok",
        "llm": "ok",
    }, found
    assert "migrated to" in found["database"].detail
    assert "written, read and deleted" in found["blobs"].detail
    assert not doctor.failed(list(found.values()))


async def test_what_is_missing_is_named_with_its_fix(settings: Settings, tmp_path: Path) -> None:
    broken = dataclasses.replace(
        settings,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        pdf_font_dirs=only_dejavu(tmp_path),
        database_url=f"sqlite+aiosqlite:///{tmp_path}/nothing-here.db",
    )
    found = by_check(await doctor.run(broken))
    assert found["redis"].status == "fail" and "REDIS_URL" in found["redis"].fix
    assert found["llm"].status == "fail" and "RAPPORT_LLM_BASE_URL" in found["llm"].fix
    fonts = found["fonts"]
    assert fonts.status == "warn" and "cannot draw Chinese, Japanese, Korean" in fonts.detail
    assert "fonts-noto-cjk" in fonts.fix and fonts.fix.startswith("apt-get install ")
    assert found["database"].status == "warn" and "rapport migrate" in found["database"].fix
    assert not (tmp_path / "nothing-here.db").exists(), "the check creates no database"
    assert doctor.failed(list(found.values()))
    unset = by_check(await doctor.run(dataclasses.replace(settings, llm_base_url="")))
    assert unset["llm"].status == "skip" and "not configured" in unset["llm"].detail
    none = by_check(await doctor.run(dataclasses.replace(settings, pdf_font_dirs=())))
    assert none["fonts"].status == "warn" and "PDFs fail" in none["fonts"].detail


async def test_the_blob_check_writes_reads_and_deletes_on_real_s3(
    settings: Settings, rgw: Any
) -> None:
    on_s3 = s3_settings(settings, rgw, "doctor-probe")
    from runtime.stores.blobs import open_store

    store = open_store(on_s3)
    await store.prepare()  # the bucket, as serve creates it
    await store.close()
    assert by_check(await doctor.run(on_s3))["blobs"].status == "ok"
    wrong = dataclasses.replace(on_s3, s3_secret_key="not-the-secret")
    blobs = by_check(await doctor.run(wrong))["blobs"]
    assert blobs.status == "fail" and "RAPPORT_S3_" in blobs.fix


async def test_a_check_that_hangs_is_cut_short(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is under test is the bound around every check: the check itself only hangs.
    async def hang(ctx: doctor.Context) -> doctor.Finding:
        await asyncio.Event().wait()
        raise AssertionError

    monkeypatch.setattr(doctor, "CHECK_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(doctor, "CHECKS", [("stuck", hang)])
    [finding] = await doctor.run(settings)
    assert finding.status == "fail" and "no answer within 0.2 s" in finding.detail
