"""Voice clips kept: real espeak-ng speech encoded by real ffmpeg to Ogg Opus, put in the local
blob store and a real S3 server (Ceph RGW), and opened again by ffprobe."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.stores.blobs import BlobStore, open_store
from runtime.voice import clips
from runtime.voice.types import SAMPLE_RATE, Pcm, SpeechFailed
from tests.conftest import REDIS_URL, make_settings, s3_settings
from tests.runtime.voice.opus import probe
from tests.runtime.voice.speech import spoken

SENTENCE = "Yes, I would like to answer the question about our first week."
# The storage budget: 12 MB per hour of one channel.
BYTES_PER_SECOND_LIMIT = 12_000_000 / 3600


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", REDIS_URL, tmp_path)
    if request.param == "s3":
        settings = s3_settings(settings, request.getfixturevalue("rgw"), "voice-clips")
    blobs = open_store(settings)
    await blobs.prepare()
    yield blobs
    await blobs.close()


def _speech() -> Pcm:
    return Pcm(spoken(SENTENCE), SAMPLE_RATE)


async def test_speech_encodes_to_small_ogg_opus_of_the_same_length() -> None:
    pcm = _speech()
    data = await clips.encode_opus(pcm)
    found = probe(data)
    assert found.format_name == "ogg" and found.codec == "opus" and found.channels == 1
    assert found.duration_ms == pytest.approx(pcm.duration * 1000, abs=60)
    assert len(data) <= BYTES_PER_SECOND_LIMIT * pcm.duration
    # The interviewer's speech comes at the synthesizer's rate (24 kHz by default).
    at_24k = Pcm(b"\x01\x00" * 24_000 * 2, 24_000)
    assert probe(await clips.encode_opus(at_24k)).duration_ms == pytest.approx(2000, abs=60)


async def test_an_hour_of_speech_stays_under_twelve_megabytes() -> None:
    # A minute of speech (the sentence over and over) scaled to an hour.
    sentence = spoken(SENTENCE)
    minute = (sentence * (60 * SAMPLE_RATE * 2 // len(sentence) + 1))[: 60 * SAMPLE_RATE * 2]
    data = await clips.encode_opus(Pcm(minute, SAMPLE_RATE))
    assert probe(data).duration_ms == pytest.approx(60_000, abs=60)
    assert len(data) * 60 <= 12_000_000


async def test_a_clip_is_stored_under_its_session_and_read_back(store: BlobStore) -> None:
    session_id = f"ses_{uuid.uuid4().hex}"
    pcm = _speech()
    ref = await clips.store_clip(store, session_id, pcm, offset_ms=4_250)
    assert ref.key.startswith(f"voice/{session_id}/") and ref.key.endswith(".ogg")
    assert len(ref.key.removeprefix(f"voice/{session_id}/").removesuffix(".ogg")) == 32
    assert ref.content_type == "audio/ogg" and ref.offset_ms == 4_250
    assert ref.duration_ms == round(pcm.duration * 1000)
    info = await store.info(ref.key)
    assert info is not None and info.size == ref.size_bytes and info.content_type == "audio/ogg"
    found = probe(await store.read(ref.key))
    assert found.codec == "opus" and found.duration_ms == pytest.approx(ref.duration_ms, abs=60)
    assert ref.stored() == {
        "key": ref.key,
        "content_type": "audio/ogg",
        "duration_ms": ref.duration_ms,
        "offset_ms": 4_250,
        "size_bytes": ref.size_bytes,
    }
    # Two clips of one session never share a key.
    other = await clips.store_clip(store, session_id, pcm, offset_ms=9_000)
    assert other.key != ref.key
    assert await store.delete_prefix(f"voice/{session_id}/") == 2


async def test_what_is_not_a_clip_is_refused() -> None:
    with pytest.raises(ValueError, match="whole number"):
        await clips.encode_opus(Pcm(b"", SAMPLE_RATE))
    with pytest.raises(ValueError, match="whole number"):
        await clips.encode_opus(Pcm(b"\x00\x00\x00", SAMPLE_RATE))


async def test_a_rate_it_cannot_take_is_refused_and_no_ffmpeg_is_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pcm = _speech()
    with pytest.raises(SpeechFailed) as failed:
        await clips.encode_opus(Pcm(pcm.data, 0))
    assert failed.value.reason == "encode_failed"
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Debian's ffmpeg
    encoded = await clips.encode_opus(pcm)
    monkeypatch.undo()
    assert probe(encoded).codec == "opus"
