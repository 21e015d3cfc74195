"""The voice channel on a live session: real speech heard, recognized, answered aloud."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from runtime.live.voice_channel import VoiceChannel
from runtime.live.voice_parts import ChannelSettings
from runtime.platform.errors import ValidationError
from runtime.platform.settings import Settings
from runtime.services import Services
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.voice import clips
from runtime.voice.openai_speech import Endpoint, OpenAISpeechToText
from tests.conftest import new_key, serving
from tests.helpers import published_interview
from tests.runtime.voice.speech import click, frames, silence, spoken
from tests.upstream.server import Upstream

ANSWER = "yes I would like to answer the question"


def answer() -> bytes:
    return spoken(ANSWER, "en-us")  # the voice pocketsphinx hears best (docs/voice.md)


WAIT_S = 30.0


class Outlet:
    """What the channel sends, kept in order; `until` waits for a frame."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any] | bytes] = []
        self._changed = asyncio.Condition()

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._add(message)

    async def send_audio(self, pcm: bytes) -> None:
        await self._add(pcm)

    async def _add(self, item: dict[str, Any] | bytes) -> None:
        async with self._changed:
            self.sent.append(item)
            self._changed.notify_all()

    def json(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.sent if isinstance(m, dict) and kind in (None, m.get("type"))]

    async def until(self, test: Callable[[dict[str, Any]], bool], after: int = 0) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            async with self._changed:
                while True:
                    for m in self.sent[after:]:
                        if isinstance(m, dict) and test(m):
                            return m
                    await self._changed.wait()

    def audio_after(self, start: int, end: int | None = None) -> bytes:
        return b"".join(m for m in self.sent[start:end] if isinstance(m, bytes))


@dataclasses.dataclass
class Live:
    services: Services
    session_id: str
    channel: VoiceChannel
    outlet: Outlet
    db: Database

    async def say(self, pcm: bytes) -> None:
        for frame in frames(pcm):
            await self.channel.frame(frame)

    async def played(self, turn_id: str, after: int = 0) -> None:
        started = await self.outlet.until(
            lambda m: m.get("type") == "audio.ended" and m["turn_id"] == turn_id, after
        )
        await self.channel.control(
            {
                "type": "playback",
                "turn_id": turn_id,
                "played_ms": started["duration_ms"],
                "ended": True,
            }
        )

    async def messages(self) -> list[Any]:
        async with self.db.connect() as conn:
            m = schema.messages
            query = select(m).where(m.c.session_id == self.session_id).order_by(m.c.seq)
            return list((await conn.execute(query)).all())


@contextlib.asynccontextmanager
async def live(
    settings: Settings,
    own_db: Database,
    channel_settings: ChannelSettings | None = None,
    delay_ms: int = 0,
) -> AsyncIterator[Live]:
    url = own_db.engine.url.render_as_string(hide_password=False)
    own = dataclasses.replace(settings, database_url=url, scripted_delta_delay_ms=delay_ms)
    app = create_app(own)
    async with serving(app, lifespan="on") as base_url:
        auth = {"authorization": f"Bearer {await new_key(own_db)}"}
        async with httpx.AsyncClient(base_url=base_url, headers=auth) as client:
            interview = await published_interview(client)
            share = interview["share_token"]
            started = (await client.post(f"/v1/public/interviews/{share}/sessions")).json()
        services: Services = app.state.services
        sid = started["session_id"]
        outlet = Outlet()
        channel = VoiceChannel(
            services, sid, channel_settings or ChannelSettings(), outlet, 0, max_ahead_ms=10**9
        )
        subscription = await services.hub.open(sid, "0", True, None)

        async def pump() -> None:
            while True:
                channel.events(await subscription.next(wait=True))

        feeding = asyncio.create_task(pump())
        try:
            await channel.start()
            yield Live(services, sid, channel, outlet, own_db)
        finally:
            feeding.cancel()
            await channel.close()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
            await services.hub.release(subscription)


async def test_the_welcome_is_spoken_an_answer_is_heard_and_the_next_turn_spoken(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db) as v:
        ready = v.outlet.json("voice.ready")[0]
        rate = ready["output"]["sample_rate"]
        first = await v.outlet.until(lambda m: m.get("type") == "audio.started")
        assert first["turn_id"] == "t1" and first["sample_rate"] == rate
        await v.played("t1")
        ended = v.outlet.json("audio.ended")[0]
        # The turn's audio, sentence by sentence, as long as audio.ended says.
        audio = v.outlet.audio_after(v.outlet.sent.index(first), v.outlet.sent.index(ended))
        assert abs(len(audio) / 2 / rate * 1000 - ended["duration_ms"]) <= 1
        assert ended["duration_ms"] > 1000
        mark = len(v.outlet.sent)
        await v.say(silence(300) + answer() + silence(1500))
        final = await v.outlet.until(lambda m: m.get("type") == "transcript.final", mark)
        assert len(set(final["text"].split()) & set(ANSWER.split())) >= 5, final
        partial = v.outlet.json("transcript.partial")
        assert partial and partial[-1]["text"] == final["text"]
        second = await v.outlet.until(
            lambda m: m.get("type") == "audio.started" and m["turn_id"] == "t2", mark
        )
        assert second["kind"] == "turn"
        await v.played("t2")
        rows = await v.messages()
        stored = next(r for r in rows if r.id == final["message_id"])
        assert stored.role == "respondent" and stored.content == final["text"]
        assert stored.metadata["modality"] == "voice"
        clip = stored.metadata["audio"]
        assert await v.services.blobs.info(clip["key"]) is not None
        # The clip holds the answer: its length is the speech's, give or take the listener's
        # pre-roll and trailing silence.
        assert 2000 <= clip["duration_ms"] <= len(answer()) // 32 + 1200
        # Each turn's audio is kept once it has played.
        await v.channel.drain(WAIT_S)
        turns = [r for r in await v.messages() if r.role == "interviewer"]
        assert [r.metadata.get("modality") for r in turns] == ["voice", "voice"]
        states = [m["state"] for m in v.outlet.json("voice.state")]
        assert states[:2] == ["listening", "speaking"] and "thinking" in states
        # Each turn spoken is timed along its first sentence's way, in order (bench.voice),
        # and the answer's turn along its way from the end of speech to the conversation.
        assert [turn_id for turn_id, _ in v.channel.spoken_timings] == ["t1", "t2"]
        for _, marks in v.channel.spoken_timings:
            assert marks.first_sentence and marks.tts_request and marks.tts_first_byte
            assert marks.first_sentence <= marks.tts_request <= marks.tts_first_byte
            assert marks.first_sent is not None and marks.tts_first_byte <= marks.first_sent
        [heard] = v.channel.timings
        assert heard.speech_end <= heard.stt_request <= heard.stt_done
        assert heard.speech_end < heard.end_of_turn <= heard.said
        assert heard.said < v.channel.spoken_timings[1][1].first_sentence  # type: ignore[operator]


async def test_a_turn_of_two_utterances_is_stored_as_one_clip_and_no_other_is_left(
    settings: Settings, own_db: Database
) -> None:
    # Each utterance's stop starts the turn's clip (off the answer's way); speech that goes
    # on makes it stale: it is dropped, and the clip of the whole turn is the one kept.
    async with live(settings, own_db) as v:
        await v.played("t1")
        mark = len(v.outlet.sent)
        await v.say(silence(300) + answer() + silence(350) + answer() + silence(1500))
        final = await v.outlet.until(lambda m: m.get("type") == "transcript.final", mark)
        stops = [m for m in v.outlet.sent[mark:] if isinstance(m, dict)]
        assert len([m for m in stops if m["type"] == "speech.stopped"]) >= 2
        await v.played("t2", mark)
        await v.channel.drain(WAIT_S)
        rows = await v.messages()
        [heard] = [r for r in rows if r.role == "respondent"]
        assert heard.id == final["message_id"]
        assert heard.metadata["audio"]["duration_ms"] >= 2 * len(answer()) // 32
        kept = [r.metadata["audio"]["key"] for r in rows if "audio" in r.metadata]
        assert len(kept) == 3  # t1, the answer, t2
        assert await v.services.blobs.delete_prefix(clips.clip_prefix(v.session_id)) == 3


async def test_speaking_over_the_interviewer_stops_it_and_the_turn_is_what_was_heard(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db) as v:
        await v.outlet.until(lambda m: m.get("type") == "audio.ended")
        mark = len(v.outlet.sent)
        await v.say(answer()[: 16000 * 2])  # a second of speech, while t1 still plays
        stop = await v.outlet.until(lambda m: m.get("type") == "playback.stop", mark)
        assert stop == {"type": "playback.stop", "turn_id": "t1", "reason": "barge_in"}
        await v.channel.control({"type": "playback", "turn_id": "t1", "played_ms": 900})
        await v.say(answer()[16000 * 2 :] + silence(1500))
        final = await v.outlet.until(lambda m: m.get("type") == "transcript.final", mark)
        rows = await v.messages()
        t1 = next(r for r in rows if r.turn_id == "t1")
        assert t1.metadata["interrupted"] is True and t1.metadata["heard_ms"] == 900
        assert t1.content != t1.metadata["written"]
        assert t1.metadata["written"].startswith(t1.content.split()[0])
        assert t1.metadata["audio"]["duration_ms"] == pytest.approx(900, abs=5)
        assert [r.role for r in rows][:2] == ["interviewer", "respondent"]
        assert rows[1].id == final["message_id"]


async def test_speaking_over_a_turn_still_being_written_stops_its_engine(
    settings: Settings, own_db: Database
) -> None:
    # The scripted engine writes a word every 400 ms: the first sentence is spoken while the
    # rest is still to come.
    async with live(settings, own_db, delay_ms=400) as v:
        await v.outlet.until(lambda m: m.get("type") == "audio.started")
        await v.say(answer()[: 16000 * 2])
        await v.outlet.until(lambda m: m.get("type") == "playback.stop")
        await v.channel.control({"type": "playback", "turn_id": "t1", "played_ms": 50})
        await v.channel.drain(WAIT_S)
        t1 = next(r for r in await v.messages() if r.turn_id == "t1")
        assert t1.metadata["stopped"] == "barge_in"
        full = "Hi, thanks for joining!\n\nWhat do you use our app for?"
        assert len(t1.metadata.get("written", t1.content)) < len(full)
        assert t1.metadata["audio"]["duration_ms"] == pytest.approx(50, abs=5)


async def test_a_click_or_a_short_sound_does_not_interrupt_nor_answer(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db) as v:
        await v.outlet.until(lambda m: m.get("type") == "audio.ended")
        mark = len(v.outlet.sent)
        short = spoken("yes")[: 16000 * 2 * 3 // 10]  # 300 ms of a word
        await v.say(click() + silence(400) + short + silence(1500))
        assert not v.outlet.json("playback.stop")
        assert not v.outlet.json("transcript.final")
        assert [r.role for r in await v.messages()] == ["interviewer"]
        await v.played("t1")
        assert v.outlet.sent[mark:]  # the listener did hear it (speech.started) …
        assert v.outlet.json("speech.started")


async def test_an_idle_respondent_is_reprompted_twice_at_most(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db, ChannelSettings(idle_ms=1000)) as v:
        await v.played("t1")
        for _ in range(2):
            mark = len(v.outlet.sent)
            await v.say(silence(1200))
            reprompt = await v.outlet.until(lambda m: m.get("type") == "audio.started", mark)
            assert reprompt == {**reprompt, "turn_id": "t1", "kind": "reprompt"}
            await v.played("t1", mark)
        await v.say(silence(3000))
        assert v.channel.speaking is None  # a third silence: the session's own timeout decides
        assert [r.role for r in await v.messages()] == ["interviewer"]  # never stored


async def test_bad_frames_are_refused_and_counted_for_nothing(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db) as v:
        for bad in (b"", b"\x00" * 639, b"\x00" * 1280):
            with pytest.raises(ValidationError) as refused:
                await v.channel.frame(bad)
            assert refused.value.field == "frame"
        with pytest.raises(ValidationError) as wrong:
            await v.channel.control({"type": "playback", "turn_id": "t1", "played_ms": "x"})
        assert wrong.value.field == "played_ms"


async def test_frames_faster_than_real_time_are_refused(
    settings: Settings, own_db: Database
) -> None:
    async with live(settings, own_db) as v:
        fast = VoiceChannel(
            v.services, v.session_id, ChannelSettings(), Outlet(), 0, max_ahead_ms=200
        )
        with pytest.raises(ValidationError, match="faster than real time"):
            for frame in frames(silence(1000)):
                await fast.frame(frame)
        await fast.close()


async def test_a_recognizer_that_fails_tells_the_respondent_to_type_and_loses_nothing(
    settings: Settings, own_db: Database, upstream: Upstream
) -> None:
    async with live(settings, own_db) as v:
        failing = OpenAISpeechToText(Endpoint(upstream.base_url, "k", "mock:500"), 5.0)
        v.services.stt = failing
        try:
            await v.played("t1")
            await v.say(answer() + silence(1500))
            error = await v.outlet.until(lambda m: m.get("type") == "voice.error")
        finally:
            await failing.close()
        assert error["error"]["code"] == "speech_failed" and error["fallback"] == "text"
        assert [r.role for r in await v.messages()] == ["interviewer"]
        # Typing still works: the session is waiting for the respondent.
        from runtime.live import conversation

        posted = await conversation.say(v.services, v.session_id, "typed instead", "c-typed")
        assert posted.created


async def test_without_ffmpeg_and_espeak_voice_degrades_and_keeps_the_answer(
    settings: Settings, own_db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh machine with no Debian extras: nothing to speak with, nothing to encode with.
    said = answer()  # made with espeak-ng here, before it is gone
    monkeypatch.setenv("PATH", str(tmp_path))
    async with live(settings, own_db) as v:
        error = await v.outlet.until(lambda m: m.get("type") == "voice.error")
        assert error["error"]["code"] == "speech_unavailable"
        assert error["error"]["stage"] == "synthesis" and error["fallback"] == "text"
        await v.say(said + silence(1500))
        final = await v.outlet.until(lambda m: m.get("type") == "transcript.final")
        stored = next(r for r in await v.messages() if r.id == final["message_id"])
        # Its audio too: clips are encoded in-process (PyAV), not by Debian's ffmpeg.
        assert stored.metadata["modality"] == "voice" and stored.metadata["audio"]["size_bytes"]
        assert stored.content == final["text"]
