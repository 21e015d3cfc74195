"""Streamed bulk exports, opened with real readers: json, csv, zipfile and `unzip -t`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.exports import records as exports
from runtime.platform.settings import Settings
from runtime.sessions import store as sessions
from runtime.stores.database import Database
from tests.api.test_pdf import pdftotext
from tests.conftest import Server, new_key
from tests.helpers import audio_bytes, converse, published_interview

TRICKY = 'We use it daily, "really" daily,\nand on weekends — 每天都用, كل يوم'


@pytest.fixture
async def study(client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database) -> dict[str, Any]:
    """An interview with three real sessions (two with audio) and one preview session."""
    interview = await published_interview(client)
    share = interview["share_token"]
    ada = await converse(anon, share, [TRICKY], name='Ada "A, L"', email="ada@example.com")
    bo = await converse(
        anon, share, ["Mostly for planning."], name="李小龙", email="bo@example.com"
    )
    cy = await converse(anon, share, ["Rarely."], name="Cy", email="cy@example.com")
    for who, fmt in ((ada, "webm"), (bo, "mp3")):
        put = await client.put(f"/v1/sessions/{who.id}/audio", content=await audio_bytes(fmt))
        assert put.status_code == 201, put.text
    preview = await sessions.start(db, share, {"name": "Tester"}, is_test=True)
    return {
        "interview": interview,
        "ids": [ada.id, bo.id, cy.id],
        "with_audio": {ada.id: "webm", bo.id: "mp3"},
        "preview": preview.row["id"],
    }


def _url(study: dict[str, Any]) -> str:
    return f"/v1/interviews/{study['interview']['id']}/transcripts"


async def test_json_envelope_with_messages_and_turns(
    client: httpx.AsyncClient, study: dict[str, Any]
) -> None:
    response = await client.get(_url(study))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    body = json.loads(response.content)
    assert body["interview"]["id"] == study["interview"]["id"]
    assert body["generated_at"].endswith("Z")
    assert [s["id"] for s in body["sessions"]] == study["ids"]  # oldest first, no preview
    ada = body["sessions"][0]
    assert ada["respondent"] == {
        "name": 'Ada "A, L"', "email": "ada@example.com", "external_id": None
    }  # fmt: skip
    assert ada["messages"][1] == {**ada["messages"][1], "role": "respondent", "content": TRICKY}
    first = ada["turns"][0]
    assert first["question"] == ada["messages"][0]["content"] and first["answer"] == TRICKY
    assert ada["audio"]["path"] == f"audio/{ada['id']}.webm"
    assert body["sessions"][2]["audio"] is None
    with_test = json.loads((await client.get(_url(study), params={"include_test": "true"})).content)
    assert study["preview"] in [s["id"] for s in with_test["sessions"]]


async def test_csv_one_row_per_message_with_quoting(
    client: httpx.AsyncClient, study: dict[str, Any]
) -> None:
    response = await client.get(_url(study), params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    json_body = json.loads((await client.get(_url(study))).content)
    assert len(rows) == sum(len(s["messages"]) for s in json_body["sessions"])
    tricky = [r for r in rows if r["role"] == "respondent" and r["session_id"] == study["ids"][0]]
    assert tricky[0]["content"] == TRICKY
    assert tricky[0]["respondent_name"] == 'Ada "A, L"'
    assert {r["respondent_name"] for r in rows} == {'Ada "A, L"', "李小龙", "Cy"}


async def test_zip_with_audio_and_manifest(
    client: httpx.AsyncClient, study: dict[str, Any], tmp_path: Path
) -> None:
    response = await client.get(_url(study), params={"include_audio": "true"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    path = tmp_path / "export.zip"
    path.write_bytes(response.content)
    unzip = await asyncio.create_subprocess_exec(
        "unzip", "-t", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    said, _ = await unzip.communicate()
    assert unzip.returncode == 0, said.decode()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        transcripts = json.loads(archive.read("transcripts.json"))
        audio = {
            sid: archive.read(f"audio/{sid}.{ext}") for sid, ext in study["with_audio"].items()
        }
    expected_audio = [f"audio/{sid}.{ext}" for sid, ext in study["with_audio"].items()]
    assert names == ["transcripts.json", "coverage.csv", *expected_audio, "manifest.json"]
    assert [f["path"] for f in manifest["files"]] == names
    sizes = {f["path"]: f["bytes"] for f in manifest["files"] if "bytes" in f}
    assert all(
        sizes[f"audio/{sid}.{ext}"] == len(audio[sid]) for sid, ext in study["with_audio"].items()
    )
    assert manifest["audio_missing"] == [study["ids"][2]]
    assert manifest["sessions"] == 3
    assert [s["id"] for s in transcripts["sessions"]] == study["ids"]
    assert audio[study["ids"][0]][:4] == b"\x1a\x45\xdf\xa3"  # the WebM (EBML) magic


async def test_streamed_zip_lists_pdfs_not_rendered_yet(
    client: httpx.AsyncClient, study: dict[str, Any]
) -> None:
    response = await client.get(_url(study), params={"include_pdf": "true"})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.namelist() == ["transcripts.json", "coverage.csv", "manifest.json"]
    assert manifest["pdf_missing"] == study["ids"] and manifest["audio_missing"] == []


async def test_zip_with_csv(
    client: httpx.AsyncClient, study: dict[str, Any], tmp_path: Path
) -> None:
    response = await client.get(_url(study), params={"include_audio": "true", "format": "csv"})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        rows = list(
            csv.DictReader(io.StringIO(archive.read("transcripts.csv").decode("utf-8-sig")))
        )
    assert {r["session_id"] for r in rows} == set(study["ids"])


async def test_bad_queries_and_other_workspaces(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, study: dict[str, Any]
) -> None:
    bad = await client.get(_url(study), params={"format": "xml"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"
    assert (await client.get(_url(study), params={"status": "nope"})).status_code == 400
    assert (await anon.get(_url(study))).status_code == 401
    assert (await client.get("/v1/interviews/int_missing/transcripts")).status_code == 404


async def _finished(server: Server, export_id: str) -> None:
    job = await server.app.state.services.jobs.job(exports.job_key(export_id))
    assert job is not None
    await job.refresh(until_complete=60)


async def _zip_members(http: httpx.AsyncClient, url: str) -> dict[str, bytes]:
    fetched = await http.get(url)
    assert fetched.status_code == 200, fetched.text
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.usefixtures("job_worker")
async def test_async_export_anonymized(
    client: httpx.AsyncClient, server: Server, study: dict[str, Any]
) -> None:
    created = await client.post(
        "/v1/exports",
        json={"interview_id": study["interview"]["id"], "anonymize": True, "include_pdf": True},
    )
    assert created.status_code == 202, created.text
    export = created.json()
    assert export["status"] in ("queued", "running") and created.headers["location"].endswith(
        export["id"]
    )
    await _finished(server, export["id"])
    done = (await client.get(f"/v1/exports/{export['id']}")).json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0, done
    assert done["counts"] == {
        "sessions_total": 3, "sessions_done": 3, "audio_files": 2, "audio_missing": 1
    }  # fmt: skip
    assert done["url_expires_in"] == 3600
    members = await _zip_members(client, done["url"])
    texts = b"".join(members[n] for n in ("transcripts.json", "manifest.json")).decode()
    for secret in ("Ada", "李小龙", "@example.com", "email"):
        assert secret not in texts, secret
    listed = json.loads(members["transcripts.json"])["sessions"]
    assert [s["respondent"] for s in listed] == [{"name": f"Participant {n}"} for n in (1, 2, 3)]
    manifest = json.loads(members["manifest.json"])
    assert manifest["anonymized"] is True and manifest["audio_missing"] == [study["ids"][2]]
    assert manifest["pdf_missing"] == []
    first_pdf = await pdftotext(members[f"pdf/{study['ids'][0]}.pdf"])
    assert (
        "Participant 1" in first_pdf and "Ada" not in first_pdf and "example.com" not in first_pdf
    )
    assert "每天都用" in first_pdf
    assert sorted(members) == sorted(f["path"] for f in manifest["files"])


@pytest.mark.usefixtures("job_worker")
async def test_async_workspace_export_csv_with_filters(
    client: httpx.AsyncClient, server: Server, study: dict[str, Any]
) -> None:
    body = {"format": "csv", "include_audio": False, "statuses": ["completed"]}
    export = (await client.post("/v1/exports", json=body)).json()
    await _finished(server, export["id"])
    done = (await client.get(f"/v1/exports/{export['id']}")).json()
    assert done["interview_id"] is None and done["counts"]["sessions_total"] == 3
    members = await _zip_members(client, done["url"])
    assert sorted(members) == ["coverage.csv", "manifest.json", "transcripts.csv"]
    rows = list(csv.DictReader(io.StringIO(members["transcripts.csv"].decode("utf-8-sig"))))
    assert {r["session_id"] for r in rows} == set(study["ids"])
    later = {"created_from": "2999-01-01T00:00:00Z", "include_audio": False}
    empty = (await client.post("/v1/exports", json=later)).json()
    await _finished(server, empty["id"])
    nothing = (await client.get(f"/v1/exports/{empty['id']}")).json()
    assert nothing["status"] == "succeeded" and nothing["counts"]["sessions_total"] == 0


async def test_async_export_refusals(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    bad = await client.post("/v1/exports", json={"format": "xml"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"
    stamp = await client.post("/v1/exports", json={"created_from": "last week"})
    assert stamp.status_code == 400 and stamp.json()["error"]["field"] == "created_from"
    naive = await client.post("/v1/exports", json={"created_to": "2026-01-01T00:00:00"})
    assert naive.json()["options"]["created_to"] == "2026-01-01T00:00:00+00:00"  # UTC
    missing = await client.post("/v1/exports", json={"interview_id": "int_nope"})
    assert missing.status_code == 404
    draft = (await client.post("/v1/interviews", json={"title": "Not yet"})).json()
    refused = await client.post("/v1/exports", json={"interview_id": draft["id"]})
    assert refused.status_code == 409 and "publish it" in refused.json()["error"]["message"]
    assert (await client.delete(f"/v1/interviews/{draft['id']}")).status_code == 204
    assert (await client.get("/v1/exports/exp_nope")).status_code == 404
    mine = (await client.post("/v1/exports", json={})).json()
    other = {"authorization": f"Bearer {await new_key(db)}"}
    assert (await anon.get(f"/v1/exports/{mine['id']}", headers=other)).status_code == 404


@pytest.mark.usefixtures("job_worker")
async def test_list_and_delete_exports(
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    server: Server,
    db: Database,
    study: dict[str, Any],
) -> None:
    interview_id = study["interview"]["id"]
    one = (await client.post("/v1/exports", json={"interview_id": interview_id})).json()
    whole = (await client.post("/v1/exports", json={"include_audio": False})).json()
    for made in (one, whole):
        await _finished(server, made["id"])
    first = (await client.get("/v1/exports", params={"limit": 1})).json()
    assert [e["id"] for e in first["items"]] == [whole["id"]] and first["has_more"] is True
    rest = (await client.get("/v1/exports", params={"cursor": first["next_cursor"]})).json()
    assert [e["id"] for e in rest["items"]] == [one["id"]] and rest["has_more"] is False
    listed = rest["items"][0]
    assert listed["status"] == "succeeded" and listed["url_expires_in"] == 3600
    assert "transcripts.json" in await _zip_members(client, listed["url"])
    of_interview = await client.get("/v1/exports", params={"interview_id": interview_id})
    assert [e["id"] for e in of_interview.json()["items"]] == [one["id"]]
    none_failed = await client.get("/v1/exports", params={"status": "failed"})
    assert none_failed.json() == {"items": [], "next_cursor": None, "has_more": False}
    bad = await client.get("/v1/exports", params={"status": "done"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"
    assert (await client.get("/v1/exports", params={"cursor": "nope"})).status_code == 400

    blobs = server.app.state.services.blobs
    assert await blobs.info(exports.blob_key(one["id"])) is not None
    stranger = {"authorization": f"Bearer {await new_key(db)}"}
    assert (await anon.delete(f"/v1/exports/{one['id']}", headers=stranger)).status_code == 404
    gone = await client.delete(f"/v1/exports/{one['id']}")
    assert gone.status_code == 204 and gone.content == b""
    assert await blobs.info(exports.blob_key(one["id"])) is None
    assert (await client.get(f"/v1/exports/{one['id']}")).status_code == 404
    assert (await client.delete(f"/v1/exports/{one['id']}")).status_code == 404
    assert (await anon.get(listed["url"])).status_code == 404  # the old link finds nothing


async def test_an_unfinished_export_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    queued = (await client.post("/v1/exports", json={})).json()  # no worker in this test
    refused = await client.delete(f"/v1/exports/{queued['id']}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    assert (await client.get(f"/v1/exports/{queued['id']}")).json()["status"] == "queued"


async def test_an_export_job_without_fonts_succeeds_and_lists_the_pdfs_it_lacks(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    from tests.api.test_pdf import server_with_fonts

    async with server_with_fonts(settings, db, (tmp_path,)) as (client, server):
        interview = await published_interview(client)
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as anon:
            who = await converse(anon, interview["share_token"], ["Mostly for planning."])
        created = await client.post(
            "/v1/exports", json={"interview_id": interview["id"], "include_pdf": True}
        )
        assert created.status_code == 202, created.text
        await _finished(server, created.json()["id"])
        done = (await client.get(f"/v1/exports/{created.json()['id']}")).json()
        assert done["status"] == "succeeded", done
        members = await _zip_members(client, done["url"])
    manifest = json.loads(members["manifest.json"])
    assert manifest["pdf_missing"] == [who.id]
    assert not any(name.startswith("pdf/") for name in members)
    assert "Mostly for planning." in members["transcripts.json"].decode()
