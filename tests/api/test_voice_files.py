"""A voice session's stored audio through the API: real espeak-ng speech kept as Ogg Opus,
shown on its messages, listed in /files with signed links, written into streamed ZIP exports
(opened again by ffprobe), and erased with the session."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.live import conversation
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.transcripts import artifacts
from runtime.voice import clips
from runtime.voice.types import SAMPLE_RATE, Pcm
from tests.api.test_exports import _finished, _zip_members
from tests.conftest import Server
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.runtime.voice.opus import probe
from tests.runtime.voice.speech import spoken

HEARD = "Hi, thanks for joining!"
ANSWER = "I connected our warehouse"
VTT = "WEBVTT\n\n00:00.000 --> 00:01.500\n<v Interviewer>Hi, thanks for joining!\n"
SRT = "1\n00:00:00,000 --> 00:00:01,500\nInterviewer: Hi, thanks for joining!\n"


@dataclass
class VoiceSession:
    id: str
    interview: dict[str, Any]
    token: str
    turn: clips.AudioRef
    answer: clips.AudioRef
    answer_id: str
    turn_id: str


@pytest.fixture
async def voiced(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> AsyncIterator[VoiceSession]:
    services: Services = server.app.state.services
    interview = await published_interview(client, modes=["voice", "text"], record_session=True)
    who = await start_session(anon, interview["share_token"])
    events = sse_events(anon, who.session["events_url"])
    try:
        await next_turn(events)
        # The opening turn played until the respondent cut in after its first sentence.
        turn_pcm = Pcm(spoken(HEARD), SAMPLE_RATE)
        turn = await clips.store_clip(services.blobs, who.id, turn_pcm, offset_ms=40)
        await sessions.attach_turn_audio(
            services.db, who.id, "t1", turn, heard=HEARD, heard_ms=turn.duration_ms
        )
        answer = await clips.store_clip(
            services.blobs, who.id, Pcm(spoken(ANSWER), SAMPLE_RATE), turn.duration_ms + 300
        )
        posted = await conversation.say(services, who.id, ANSWER, "v-1", "voice", answer)
        await next_turn(events)
    finally:
        await events.aclose()
    # What the voice.finalize job makes after the session (here: a stand-in of each).
    mixed = await clips.encode_opus(Pcm(spoken(HEARD) + spoken(ANSWER), SAMPLE_RATE))
    await services.blobs.put(artifacts.recording_key(who.id), mixed, "audio/ogg")
    await services.blobs.put(artifacts.captions_key(who.id, "vtt"), VTT.encode(), "text/vtt")
    srt_type = "application/x-subrip"
    await services.blobs.put(artifacts.captions_key(who.id, "srt"), SRT.encode(), srt_type)
    async with services.db.connect() as conn:
        rows = await sessions.messages(conn, who.id)
    yield VoiceSession(
        who.id, interview, who.session["session_token"], turn, answer, posted.id, str(rows[0].id)
    )


async def test_messages_show_how_they_were_said(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, voiced: VoiceSession
) -> None:
    data = (await client.get(f"/v1/sessions/{voiced.id}/transcript")).json()
    turn, answer, *rest = data["messages"]
    assert turn["modality"] == "voice" and turn["interrupted"] is True
    assert turn["content"] == HEARD and turn["written"].startswith(HEARD)
    assert len(turn["written"]) > len(HEARD)
    assert turn["audio"] == {
        "content_type": "audio/ogg",
        "duration_ms": voiced.turn.duration_ms,
        "offset_ms": 40,
        "size_bytes": voiced.turn.size_bytes,
    }
    assert answer["modality"] == "voice" and answer["interrupted"] is False
    assert answer["written"] is None and answer["audio"]["offset_ms"] == voiced.answer.offset_ms
    assert [m["modality"] for m in rest] == ["text"] and rest[0]["audio"] is None
    first = data["turns"][0]
    assert first["question"] == HEARD and first["interrupted"] is True
    assert (first["question_modality"], first["answer_modality"]) == ("voice", "voice")
    text = (await client.get(f"/v1/sessions/{voiced.id}/transcript?format=txt")).text
    assert "Interviewer (voice, interrupted):" in text and "Respondent (voice):" in text
    # The respondent sees how it was said too, but not what the interviewer wrote unheard.
    share = voiced.interview["share_token"]
    resumed = await anon.post(
        f"/v1/public/interviews/{share}/sessions", json={"session_token": voiced.token}
    )
    mine = resumed.json()["messages"]
    assert mine[0]["interrupted"] is True and mine[0]["audio"]["offset_ms"] == 40
    assert "written" not in mine[0] and "metadata" not in mine[0]
    assert mine[1]["modality"] == "voice" and mine[2]["modality"] == "text"


async def test_files_list_each_clip_the_recording_and_captions(
    client: httpx.AsyncClient, voiced: VoiceSession
) -> None:
    listed = (await client.get(f"/v1/sessions/{voiced.id}/files")).json()["items"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in listed:
        by_kind.setdefault(item["kind"], []).append(item)
    voice = by_kind["voice"]
    assert [v["message_id"] for v in voice] == [voiced.turn_id, voiced.answer_id]
    assert [v["offset_ms"] for v in voice] == [40, voiced.answer.offset_ms]
    assert voice[1]["name"] == f"{voiced.id}-{voiced.answer_id}.ogg"
    assert voice[1]["content_type"] == "audio/ogg"
    assert voice[1]["duration_ms"] == voiced.answer.duration_ms
    (recording,) = by_kind["recording"]
    assert recording["name"] == f"{voiced.id}-recording.ogg"
    assert recording["content_type"] == "audio/ogg"
    captions = {c["name"]: c for c in by_kind["captions"]}
    assert set(captions) == {f"{voiced.id}.vtt", f"{voiced.id}.srt"}
    assert captions[f"{voiced.id}.vtt"]["content_type"] == "text/vtt"
    assert "audio" not in by_kind, "no upload: the stereo recording is not listed as one"
    async with httpx.AsyncClient(timeout=20) as http:
        clip = await http.get(voice[1]["url"])
        vtt = await http.get(captions[f"{voiced.id}.vtt"]["url"])
    assert clip.status_code == 200 and clip.headers["content-type"] == "audio/ogg"
    found = probe(clip.content)
    assert found.codec == "opus"
    assert found.duration_ms == pytest.approx(voiced.answer.duration_ms, abs=60)
    assert vtt.text == VTT and vtt.headers["content-type"].startswith("text/vtt")


async def test_streamed_zip_holds_every_clip_ffprobe_opens(
    client: httpx.AsyncClient, voiced: VoiceSession, tmp_path: Path
) -> None:
    url = f"/v1/interviews/{voiced.interview['id']}/transcripts"
    response = await client.get(url, params={"include_audio": "true"})
    assert response.status_code == 200
    path = tmp_path / "export.zip"
    path.write_bytes(response.content)
    unzip = await asyncio.create_subprocess_exec(
        "unzip", "-t", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    said, _ = await unzip.communicate()
    assert unzip.returncode == 0, said.decode()
    sid = voiced.id
    clip_paths = [f"audio/{sid}/{voiced.turn_id}.ogg", f"audio/{sid}/{voiced.answer_id}.ogg"]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        exported = json.loads(archive.read("transcripts.json"))["sessions"][0]
        members = {name: archive.read(name) for name in names}
    assert names == [
        "transcripts.json", "coverage.csv", *clip_paths, f"audio/{sid}/recording.ogg",
        f"captions/{sid}.vtt", f"captions/{sid}.srt", "manifest.json",
    ]  # fmt: skip
    for clip_path, ref in zip(clip_paths, (voiced.turn, voiced.answer), strict=True):
        found = probe(members[clip_path])
        assert found.codec == "opus" and found.channels == 1
        assert found.duration_ms == pytest.approx(ref.duration_ms, abs=60)
    assert probe(members[f"audio/{sid}/recording.ogg"]).codec == "opus"
    assert members[f"captions/{sid}.vtt"].decode() == VTT
    listed = {f["path"]: f for f in manifest["files"]}
    assert listed[clip_paths[1]]["message_id"] == voiced.answer_id
    assert listed[clip_paths[1]]["bytes"] == voiced.answer.size_bytes
    assert listed[f"captions/{sid}.srt"]["session_id"] == sid
    assert manifest["audio_missing"] == [] and manifest["voice_missing"] == []
    turn, answer, _ = exported["messages"]
    assert turn["modality"] == "voice" and turn["interrupted"] is True
    assert turn["audio"]["path"] == clip_paths[0] and turn["written"].startswith(HEARD)
    assert answer["audio"]["path"] == clip_paths[1] and answer["written"] is None
    assert answer["audio"]["offset_ms"] == voiced.answer.offset_ms

    as_csv = await client.get(url, params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [(r["modality"], r["interrupted"]) for r in rows] == [
        ("voice", "true"),
        ("voice", ""),
        ("text", ""),
    ]


@pytest.mark.usefixtures("job_worker")
async def test_an_export_job_holds_the_clips_too(
    server: Server, client: httpx.AsyncClient, voiced: VoiceSession
) -> None:
    created = await client.post("/v1/exports", json={"interview_id": voiced.interview["id"]})
    assert created.status_code == 202, created.text
    await _finished(server, created.json()["id"])
    done = (await client.get(f"/v1/exports/{created.json()['id']}")).json()
    assert done["status"] == "succeeded", done
    # Two clips and the stereo recording, all under audio/.
    assert (done["counts"]["audio_files"], done["counts"]["audio_missing"]) == (3, 0)
    members = await _zip_members(client, done["url"])
    clip = members[f"audio/{voiced.id}/{voiced.answer_id}.ogg"]
    found = probe(clip)
    assert found.codec == "opus"
    assert found.duration_ms == pytest.approx(voiced.answer.duration_ms, abs=60)
    assert members[f"captions/{voiced.id}.srt"].decode() == SRT
    manifest = json.loads(members["manifest.json"])
    assert sorted(members) == sorted(f["path"] for f in manifest["files"])


async def test_a_clip_gone_from_the_store_is_listed_missing(
    server: Server, client: httpx.AsyncClient, voiced: VoiceSession
) -> None:
    blobs = server.app.state.services.blobs
    await blobs.delete(voiced.answer.key)
    url = f"/v1/interviews/{voiced.interview['id']}/transcripts"
    response = await client.get(url, params={"include_audio": "true"})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = archive.namelist()
    assert f"audio/{voiced.id}/{voiced.answer_id}.ogg" not in names
    assert f"audio/{voiced.id}/{voiced.turn_id}.ogg" in names
    assert manifest["voice_missing"] == [{"session_id": voiced.id, "message_id": voiced.answer_id}]
    assert manifest["audio_missing"] == []


async def test_erasure_removes_every_clip_the_recording_and_captions(
    server: Server, client: httpx.AsyncClient, voiced: VoiceSession
) -> None:
    blobs = server.app.state.services.blobs
    keys = [
        voiced.turn.key,
        voiced.answer.key,
        artifacts.recording_key(voiced.id),
        artifacts.captions_key(voiced.id, "vtt"),
        artifacts.captions_key(voiced.id, "srt"),
    ]
    assert all([await blobs.info(key) is not None for key in keys])
    erased = await client.delete(f"/v1/sessions/{voiced.id}")
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["files"] >= len(keys)
    assert [await blobs.info(key) for key in keys] == [None] * len(keys)
