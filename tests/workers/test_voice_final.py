"""The final transcript job on real speech: espeak-ng's voice stored as Ogg Opus, heard again
by pocketsphinx (or the test upstream's tones), captions and the stereo recording ffprobe'd."""

from __future__ import annotations

import array
import dataclasses
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from runtime.access import keys
from runtime.erasure import erase
from runtime.live import ending
from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.services import Services
from runtime.stores import schema
from runtime.transcripts import artifacts
from runtime.transcripts import final as final_transcript
from runtime.voice import decoding
from runtime.voice.espeak import EspeakTextToSpeech
from tests.conftest import Server
from tests.helpers import published_interview
from tests.runtime.voice.speech import opus
from tests.upstream import Upstream
from tests.upstream.audio import SPEECH_RATE, tone
from workers import queue

SENTENCE = "yes I would like to answer the question"
WORDS = set(SENTENCE.split())
# Of its 8 words: pocketsphinx hears 7 of the raw speech (tests/runtime/voice/test_sphinx.py),
# one fewer through Opus at 16 kbit/s, as clips are stored.
ENOUGH = 5
ASK = "What would you like to tell me about the service?"
FOLLOW = "Thank you. Anything else?"
GAP_MS = 400  # between one speaker's clip and the other's
JOB_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class Clip:
    role: str
    pcm: bytes
    rate: int
    text: str  # the message's (live) content

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // (2 * self.rate)


@dataclasses.dataclass(frozen=True)
class Placed:
    message_id: str
    clip: Clip
    offset_ms: int
    key: str


async def speech(text: str, rate: int) -> bytes:
    return b"".join([chunk async for chunk in EspeakTextToSpeech(rate).stream(text)])


def pause(ms: int, rate: int) -> bytes:
    return bytes(2 * rate * ms // 1000)


async def ffprobe(data: bytes, *entries: str) -> dict[str, Any]:
    # From a file: an Ogg file's duration is read from its last page, which a pipe hides.
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        code, out, err = await decoding.run(
            ["ffprobe", "-v", "error", "-of", "json", *entries, file.name], b""
        )
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


async def voice_session(
    services: Services,
    client: httpx.AsyncClient,
    api_key: str,
    clips: list[Clip],
    record: bool,
    status: str = "completed",
) -> tuple[str, list[Placed]]:
    """A session awaiting its respondent (ended, or live), whose messages are the clips, one
    after the other GAP_MS apart, each stored in the blob store as the contract has it."""
    interview = await published_interview(client)
    workspace_id = (await keys.authenticate(services.db, api_key)).workspace_id
    sid = f"ses_{uuid.uuid4().hex[:24]}"
    created = utcnow() - timedelta(minutes=5)
    session = {
        "id": sid, "workspace_id": workspace_id, "interview_id": interview["id"],
        "guide_version": 1, "status": status, "token_hash": uuid.uuid4().hex * 2,
        "is_test": False, "state": {}, "turn_seq": 2, "awaiting": "respondent",
        "created_at": created, "last_activity_at": utcnow(),
    }  # fmt: skip
    placed, rows, offset = [], [], 0
    for seq, clip in enumerate(clips, 1):
        data = await opus(clip.pcm, clip.rate)
        key = f"voice/{sid}/{uuid.uuid4().hex}.ogg"
        await services.blobs.put(key, data, "audio/ogg")
        audio = {
            "key": key, "content_type": "audio/ogg", "duration_ms": clip.duration_ms,
            "offset_ms": offset, "size_bytes": len(data),
        }  # fmt: skip
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        rows.append(
            {
                "id": message_id, "session_id": sid, "seq": seq, "role": clip.role,
                "content": clip.text, "item_id": None,
                "turn_id": f"t{seq}" if clip.role == "interviewer" else None,
                "client_message_id": None if clip.role == "interviewer" else f"c{seq}",
                "metadata": {"modality": "voice", "audio": audio},
                "created_at": created + timedelta(milliseconds=offset),
            }
        )  # fmt: skip
        placed.append(Placed(message_id, clip, offset, key))
        offset += clip.duration_ms + GAP_MS
    i = schema.interviews
    async with services.db.begin() as conn:
        if record:
            await conn.execute(
                update(i).where(i.c.id == interview["id"]).values(record_session=True)
            )
        await conn.execute(insert(schema.sessions).values(**session))
        if rows:
            await conn.execute(insert(schema.messages), rows)
    return sid, placed


async def metadata_of(services: Services, sid: str) -> dict[str, dict[str, Any]]:
    m = schema.messages
    async with services.db.connect() as conn:
        rows = await conn.execute(
            select(m.c.id, m.c.metadata, m.c.content).where(m.c.session_id == sid)
        )
        return {r.id: {**r.metadata, "content": r.content} for r in rows}


async def finished(services: Services, sid: str) -> Any:
    """The session's final-pass job, awaited to its end."""
    job = await services.jobs.job(final_transcript.job_key(sid))
    assert job is not None, "no final pass was queued"
    await job.refresh(until_complete=JOB_SECONDS)
    return job


async def artifact(services: Services, sid: str, kind: str) -> Any:
    async with services.db.connect() as conn:
        return await artifacts.get(conn, sid, kind)


async def cue_times(data: bytes) -> list[tuple[int, int]]:
    """Each cue's (start, end) in ms, as ffmpeg's WebVTT or SubRip reader reads them."""
    found = await ffprobe(data, "-show_packets", "-show_entries", "packet=pts_time,duration_time")
    return [
        (
            round(float(p["pts_time"]) * 1000),
            round(float(p["pts_time"]) * 1000 + float(p["duration_time"]) * 1000),
        )
        for p in found["packets"]
    ]


def channel_peaks(pcm: bytes, rate: int, start_ms: int, end_ms: int) -> tuple[int, int]:
    """The loudest sample of each channel of interleaved stereo PCM within the span."""
    samples = array.array("h", pcm)
    first, last = start_ms * rate // 1000 * 2, end_ms * rate // 1000 * 2
    left, right = samples[first:last:2], samples[first + 1 : last : 2]
    return max(map(abs, left), default=0), max(map(abs, right), default=0)


@pytest.fixture
async def spoken_clips() -> list[Clip]:
    answer = await speech(SENTENCE, 16_000)
    # Two sentences a second apart: two segments.
    twice = pause(300, 16_000) + answer + pause(1000, 16_000) + answer + pause(300, 16_000)
    return [
        Clip("interviewer", await speech(ASK, 24_000), 24_000, ASK),
        Clip("respondent", twice, 16_000, "yes I would like to answer the question twice"),
        Clip("interviewer", await speech(FOLLOW, 24_000), 24_000, FOLLOW),
        Clip("respondent", answer, 16_000, "yes I would"),
    ]


async def test_an_ended_voice_session_gets_its_final_transcript(
    server: Server,
    client: httpx.AsyncClient,
    api_key: str,
    job_worker: None,
    spoken_clips: list[Clip],
) -> None:
    services = server.app.state.services
    sid, placed = await voice_session(
        services, client, api_key, spoken_clips, record=True, status="in_progress"
    )
    assert await ending.end(services, sid) is True  # queues the final pass
    job = await finished(services, sid)
    assert job.status == "complete", job.error
    assert job.result["heard"] == 2 and job.result["kept_live"] == []

    stored = await metadata_of(services, sid)
    for one in placed:
        meta = stored[one.message_id]
        # On the session timeline: where the clip starts, and its length later.
        assert (meta["start_ms"], meta["end_ms"]) == (
            one.offset_ms,
            one.offset_ms + one.clip.duration_ms,
        )
        assert meta["content"] == one.clip.text  # the live text stays the content
        if one.clip.role == "interviewer":
            assert "final" not in meta
            continue
        final = meta["final"]
        assert (final["engine"], final["model"]) == ("local", None)
        heard = final["text"].split()
        assert sum(1 for word in WORDS if word in heard) >= ENOUGH, final["text"]
        segments = final["segments"]
        assert segments, final
        previous_end = 0
        for seg in segments:  # in order, inside the clip
            assert previous_end <= seg["start_ms"] < seg["end_ms"] <= one.clip.duration_ms
            previous_end = seg["end_ms"]
    twice = stored[placed[1].message_id]["final"]["segments"]
    assert len(twice) == 2, twice
    assert twice[0]["start_ms"] >= 250 and twice[1]["start_ms"] - twice[0]["end_ms"] >= 600

    # Captions: ffmpeg reads both; every cue where its message's clip (or segment) is.
    vtt_row = await artifact(services, sid, "captions_vtt")
    srt_row = await artifact(services, sid, "captions_srt")
    assert vtt_row.blob_key == f"captions/{sid}.vtt" and srt_row.blob_key == f"captions/{sid}.srt"
    vtt = await services.blobs.read(vtt_row.blob_key)
    srt = await services.blobs.read(srt_row.blob_key)
    assert vtt.startswith(b"WEBVTT\n") and vtt_row.content_type.startswith("text/vtt")
    expected = []
    for one in placed:
        if one.clip.role == "interviewer":
            expected.append((one.offset_ms, one.offset_ms + one.clip.duration_ms))
        else:
            segs = stored[one.message_id]["final"]["segments"]
            expected += [(one.offset_ms + s["start_ms"], one.offset_ms + s["end_ms"]) for s in segs]
    assert await cue_times(vtt) == expected
    assert await cue_times(srt) == expected
    text = vtt.decode()
    assert text.count("<v Interviewer>") == 2 and text.count("<v Respondent>") == 3
    assert f"<v Interviewer>{ASK}" in text and f"Interviewer: {FOLLOW}" in srt.decode()

    # The stereo recording: respondent left, interviewer right, as long as the session.
    rec = await artifact(services, sid, "recording")
    assert rec.blob_key == f"recording/{sid}.ogg"
    recording = await services.blobs.read(rec.blob_key)
    probed = await ffprobe(recording, "-show_streams", "-show_format")
    (stream,) = probed["streams"]
    assert (stream["codec_name"], stream["channels"]) == ("opus", 2)
    last = placed[-1]
    length = last.offset_ms + last.clip.duration_ms
    assert float(probed["format"]["duration"]) * 1000 == pytest.approx(length, abs=60)
    assert rec.duration_ms == pytest.approx(length, abs=2)
    to_pcm = ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ar", "16000", "-ac", "2"]
    code, pcm, _ = await decoding.run([*to_pcm, "pipe:1"], recording)
    assert code == 0
    for one in placed:
        left, right = channel_peaks(
            pcm, 16_000, one.offset_ms, one.offset_ms + one.clip.duration_ms
        )
        speaking, quiet = (left, right) if one.clip.role == "respondent" else (right, left)
        assert speaking > 3000 and quiet < 200, (one.clip.role, left, right)

    # Again: nothing heard twice, the same files.
    await final_transcript.enqueue(services, sid, at_once=True)
    again = await finished(services, sid)
    assert again.status == "complete" and again.result["heard"] == 0
    assert await services.blobs.read(vtt_row.blob_key) == vtt
    assert await metadata_of(services, sid) == stored

    # Erasure takes the clips, the recording and the captions with the session.
    keys_kept = [one.key for one in placed] + [rec.blob_key, vtt_row.blob_key, srt_row.blob_key]
    await erase.erase(services, sid, erased_by="api_key")
    for key in keys_kept:
        assert await services.blobs.info(key) is None, key


@pytest.fixture
async def worker_on(server: Server) -> AsyncIterator[Any]:
    """Start a job worker whose services have the given settings; stopped after the test."""
    opened: list[tuple[Services, Any]] = []

    async def start(settings: Settings) -> Services:
        services = await Services.open(settings)
        opened.append((services, await queue.start_in_process(services)))
        return services

    yield start
    for services, stop in opened:
        await stop()
        await services.close()


def on_upstream(server: Server, upstream: Upstream, model: str, **more: Any) -> Settings:
    """The test server's settings with the final pass on the test upstream's `model`."""
    return dataclasses.replace(
        server.settings,
        stt_final_engine="openai",
        stt_final_base_url=upstream.base_url,
        stt_final_model=model,
        **more,
    )


def tones(text: str) -> bytes:
    return b"".join(tone(char) for char in text)


async def test_the_openai_engine_gives_segments(
    server: Server, client: httpx.AsyncClient, api_key: str, upstream: Upstream, worker_on: Any
) -> None:
    services = await worker_on(on_upstream(server, upstream, "mock"))
    silence = pause(500, SPEECH_RATE)
    said = silence + tones("hello there") + silence + tones("yes") + silence
    clips = [
        Clip("interviewer", tones("how are you"), SPEECH_RATE, "How are you?"),
        Clip("respondent", said, SPEECH_RATE, "hello there yes"),
    ]
    sid, placed = await voice_session(services, client, api_key, clips, record=False)
    # (The test server's sweeper may have queued it first: the key makes it one job.)
    await final_transcript.enqueue(services, sid, at_once=True)
    job = await finished(services, sid)
    assert job.status == "complete", job.error
    final = (await metadata_of(services, sid))[placed[1].message_id]["final"]
    assert (final["engine"], final["model"]) == ("openai", "mock")
    assert [s["text"] for s in final["segments"]] == ["hello there", "yes"]
    (first, second) = final["segments"]
    # Where the tones are in the clip, within a codec's blur of their edges.
    assert first["start_ms"] == pytest.approx(500, abs=30)
    assert first["end_ms"] == pytest.approx(500 + 1100, abs=30)
    assert second["start_ms"] == pytest.approx(2100, abs=30)
    sent = upstream.audio.requests[-1]
    assert sent.fields["response_format"] == "verbose_json" and sent.fields["language"] == "en"
    assert await artifact(services, sid, "recording") is None  # record_session is off
    vtt = await services.blobs.read(f"captions/{sid}.vtt")
    assert await cue_times(vtt) == [
        (0, placed[0].clip.duration_ms),
        *[
            (placed[1].offset_ms + s["start_ms"], placed[1].offset_ms + s["end_ms"])
            for s in final["segments"]
        ],
    ]


async def test_a_failing_provider_is_retried_then_the_live_text_is_kept(
    server: Server, client: httpx.AsyncClient, api_key: str, upstream: Upstream, worker_on: Any
) -> None:
    services = await worker_on(on_upstream(server, upstream, "mock:500", voice_final_attempts=3))
    clips = [Clip("respondent", tones("no"), SPEECH_RATE, "no thanks")]
    sid, placed = await voice_session(services, client, api_key, clips, record=False)
    before = len(upstream.audio.requests)
    await final_transcript.enqueue(services, sid, at_once=True)
    job = await finished(services, sid)
    assert job.status == "complete", job.error
    assert job.attempts == 3, "retried until its last attempt"
    asked = [r for r in upstream.audio.requests[before:] if r.model == "mock:500"]
    assert len(asked) == 3
    assert job.result["heard"] == 0 and job.result["kept_live"] == [
        f"{placed[0].message_id}: http_500"
    ]
    meta = (await metadata_of(services, sid))[placed[0].message_id]
    assert "final" not in meta and meta["content"] == "no thanks"
    assert (meta["start_ms"], meta["end_ms"]) == (0, placed[0].clip.duration_ms)
    vtt = (await services.blobs.read(f"captions/{sid}.vtt")).decode()
    assert "<v Respondent>no thanks" in vtt


async def test_the_sweeper_queues_ended_voice_sessions_without_one(
    server: Server, client: httpx.AsyncClient, api_key: str, job_worker: None
) -> None:
    services = server.app.state.services
    clips = [Clip("respondent", await speech(SENTENCE, 16_000), 16_000, "yes")]
    just, _ = await voice_session(services, client, api_key, clips, False, "in_progress")
    earlier, _ = await voice_session(services, client, api_key, clips, False, "in_progress")
    text_only, _ = await voice_session(services, client, api_key, [], False, "in_progress")
    s = schema.sessions
    now = utcnow()
    async with services.db.begin() as conn:
        # Ended by their last turn (which queues nothing), one of them an hour ago (while
        # the sweeper was down, say).
        ended = update(s).values(status="completed", completed_at=now)
        await conn.execute(ended.where(s.c.id.in_((just, text_only))))
        hour_ago = now - timedelta(hours=1)
        await conn.execute(ended.where(s.c.id == earlier).values(last_activity_at=hour_ago))

    def job_of(sid: str) -> Any:
        return services.jobs.job(final_transcript.job_key(sid))

    # Every sweeper pass: the sessions ended within the last minute.
    await final_transcript.requeue(services, now - final_transcript.RECENT)
    assert await job_of(just) is not None
    assert await job_of(earlier) is None and await job_of(text_only) is None
    # The upkeep: all of them.
    await final_transcript.requeue(services)
    assert await job_of(earlier) is not None and await job_of(text_only) is None
    for sid in (just, earlier):
        job = await finished(services, sid)
        assert job.status == "complete" and job.result["heard"] == 1
    # Abandoned idle by the sweeper: queued as it is abandoned (by this call, or the test
    # server's own sweeper getting there first).
    idle, _ = await voice_session(services, client, api_key, clips, False, "in_progress")
    async with services.db.begin() as conn:
        long_ago = utcnow() - timedelta(seconds=services.settings.session_idle_timeout_seconds + 60)
        await conn.execute(update(s).where(s.c.id == idle).values(last_activity_at=long_ago))
    await ending.abandon_idle(services)
    job = await finished(services, idle)
    assert job.status == "complete" and job.result["heard"] == 1
    # Done now: neither is queued again (a queued job would no longer say complete).
    await final_transcript.requeue(services)
    await final_transcript.requeue(services, now - final_transcript.RECENT)
    for sid in (just, earlier):
        again = await job_of(sid)
        assert again is not None and again.status == "complete"
