"""Voice mode's speed: the runtime's share of a turn, voice-to-voice, sessions per process, storage.

    .venv/bin/python -m bench.voice [--sessions 10] [--turns 5] [--local-turns 5]
                                    [--steps 10,25,50,75,100] [--step-turns 3]

One run, four parts, in one process (the Rapport app served in-process with its default
settings on SQLite, as tests/runtime/live/test_voice_channel.py drives a channel; the LLM
engine, model `mock`, against the test upstream in a process of its own, 5 ms a token):

1. **Runtime-added latency per voice turn**, `--sessions` voice sessions of `--turns` answers
   each, frames at real-time pace, with instant fake STT (a fixed text) and TTS (precomputed
   PCM) so the providers' own compute is not in it. Stages: speech end → STT request;
   transcript (STT done, or the end of turn if later) → the LLM request's arrival at the
   upstream (its body read there; CLOCK_MONOTONIC, the same clock on both sides); first
   sentence → TTS request; TTS first byte → handed to the outlet (the socket's stand-in).
   Not in the total: the silence window, the LLM's own time to the first sentence (shown
   apart, with the runtime's streaming in it). Baseline, at the same time: as many text
   sessions posting the same answers with `conversation.say` (what POST /messages calls),
   from the call to the LLM request's arrival.
2. **Voice-to-voice with the local engines** (pocketsphinx, espeak-ng), one session of
   `--local-turns` answers: the end of the respondent's speech (its last frame pushed) to
   the interviewer's first audio handed to the outlet, as measured.
3. **Concurrency**: `--steps` sessions at once, fake STT/TTS as in 1, `--step-turns` answers
   each, until the p95 of the added latency passes 250 ms; the process's CPU beside it.
4. **Storage**: Opus clips (runtime/voice/clips.py) stored for a minute of speech and of
   silence, in MB per hour of one channel, against raw PCM.

Redis db 14 (RAPPORT_BENCH_REDIS) is flushed before and after. bench/README.md has figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import math
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.client import gather_limited
from bench.report import percentile
from bench.scenario import guide
from bench.servers import RUNNING, Server, cpu_seconds, event_loop_runner, redis_cpu
from bench.stores import prepared_run
from bench.voice_sessions import (
    CannedVoice,
    FixedSpeech,
    TextRespondent,
    VoiceRespondent,
    run_text,
    run_voice,
    start_session,
)

TARGET_P50_MS, TARGET_P95_MS = 100.0, 250.0
TARGET_PER_CORE = 50
TARGET_MB_PER_HOUR = 12.0
ANSWER = "yes I would like to answer the question"  # what pocketsphinx hears best (en-us)
INTERVIEWER = "Thank you. That is very helpful to know."
STAGES = ("speech end → STT request", "transcript → LLM request", "first sentence → TTS request")
STAGES += ("TTS first byte → socket",)
# Session numbers, unique in the run: they are in the answers' markers.
NUMBERS = itertools.count()


@dataclass(frozen=True)
class VoiceTurn:
    """One voice turn's marks turned into ms (stages: STAGES in order)."""

    stages: tuple[float, float, float, float]
    llm_to_sentence: float  # the LLM request to the first sentence: not the runtime's alone
    voice_to_voice: float  # the speech's end to the interviewer's first audio out
    to_sentence: float  # the transcript to the first sentence (the LLM and the runtime)
    silence: float  # the speech's end to the end of turn (the window and the listener's stop)
    stt: float  # the recognizer's own time
    tts: float  # the synthesizer's own time to its first byte

    @property
    def added(self) -> float:
        return sum(self.stages)

    @property
    def added_but_llm(self) -> float:
        return self.stages[0] + self.stages[2] + self.stages[3]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="voice (and text) sessions, 1")
    parser.add_argument("--turns", type=int, default=5, help="answers per session, 1")
    parser.add_argument("--local-turns", type=int, default=5, help="answers, 2 (local engines)")
    parser.add_argument("--steps", default="10,25,50,75,100", help="sessions per step, 3")
    parser.add_argument("--step-turns", type=int, default=3, help="answers per session, 3")
    parser.add_argument("--token-delay-ms", type=float, default=5.0)
    parser.add_argument("--parts", default="1,2,3,4", help="which parts to run")
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the event loop (uvloop: what `rapport serve` runs on when it is installed)",
    )
    return parser.parse_args(argv)


async def arrivals(upstream: Server) -> dict[str, float]:
    """Each marker's first LLM request arrival, as perf_counter() of this process."""
    # perf_counter and monotonic are both CLOCK_MONOTONIC on Linux; the offset is 0 there.
    offset = time.perf_counter() - time.monotonic()
    async with httpx.AsyncClient() as client:
        seen = (await client.get(f"http://127.0.0.1:{upstream.port}/bench/arrivals")).json()
    first: dict[str, float] = {}
    for request in seen:
        text = request["answer"]
        if "[" in text:
            marker = text[text.rindex("[") : text.rindex("]") + 1]
            first.setdefault(marker, request["at"] + offset)
    return first


def voice_turns(respondent: VoiceRespondent, arrived: dict[str, float] | None) -> list[VoiceTurn]:
    """The respondent's answers that were heard, stored and answered aloud, as VoiceTurns."""
    out = []
    channel = respondent.channel
    spoken = dict(channel.spoken_timings)
    for index, (heard, given) in enumerate(zip(channel.timings, respondent.answers, strict=False)):
        turn = spoken.get(f"t{index + 2}")
        played = [p for p in respondent.outlet.played if p.turn_id == f"t{index + 2}"]
        if turn is None or not played or turn.first_sent is None:
            continue
        assert turn.first_sentence and turn.tts_request and turn.tts_first_byte
        transcript = max(heard.stt_done, heard.end_of_turn)
        llm = arrived.get(given.marker, math.nan) if arrived is not None else math.nan
        stages = (
            heard.stt_request - heard.speech_end,
            llm - transcript,
            turn.tts_request - turn.first_sentence,
            turn.first_sent - turn.tts_first_byte,
        )
        out.append(
            VoiceTurn(
                tuple(1000 * s for s in stages),  # type: ignore[arg-type]
                1000 * (turn.first_sentence - llm),
                1000 * (played[0].started - given.at),
                1000 * (turn.first_sentence - transcript),
                1000 * (heard.end_of_turn - given.at),
                1000 * (heard.stt_done - heard.stt_request),
                1000 * (turn.tts_first_byte - turn.tts_request),
            )
        )
    return out


async def new_sessions(services: Any, share: str, count: int) -> list[str]:
    made = await gather_limited([start_session(services, share) for _ in range(count)], 16)
    failed = [m for m in made if isinstance(m, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} sessions failed to start: {failed[0]!r}")
    return list(made)


async def canned_pcm(tts: Any) -> bytes:
    """The interviewer's sentence as espeak-ng says it, once: what the fake TTS yields."""
    return b"".join([chunk async for chunk in tts.stream(INTERVIEWER)])


def fmt(values: list[float]) -> str:
    if not values:
        return f"{'—':>9} {'—':>9}"
    return f"{percentile(values, 50):9.1f} {percentile(values, 95):9.1f}"


def cpu_now(upstream: Server) -> tuple[float, float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        me.ru_utime + me.ru_stime,
        children.ru_utime + children.ru_stime,
        cpu_seconds(upstream.pid),
    )


async def part_latency(
    services: Any, upstream: Server, share: str, speech: bytes, args: argparse.Namespace
) -> list[str]:
    voice_ids = await new_sessions(services, share, args.sessions)
    text_ids = await new_sessions(services, share, args.sessions)
    voices = [
        VoiceRespondent(services, sid, next(NUMBERS), speech, FixedSpeech()) for sid in voice_ids
    ]
    texts = [TextRespondent(services, sid, next(NUMBERS)) for sid in text_ids]
    await asyncio.gather(run_voice(voices, args.turns), run_text(texts, args.turns))
    arrived = await arrivals(upstream)
    turns = [t for r in voices for t in voice_turns(r, arrived)]
    text = [arrived[a.marker] - a.at for r in texts for a in r.answers if a.marker in arrived]
    text_ms = [1000 * t for t in text]
    added = [t.added for t in turns if not math.isnan(t.added)]
    lines = [
        f"1. Runtime-added latency per voice turn: {args.sessions} voice sessions x "
        f"{args.turns} answers ({len(turns)} turns), fake instant STT/TTS; beside them "
        f"{args.sessions} text sessions x {args.turns} answers ({len(text_ms)})",
        f"{'stage':42} {'p50 ms':>9} {'p95 ms':>9}",
    ]
    for i, name in enumerate(STAGES):
        lines.append(f"{name:42} {fmt([t.stages[i] for t in turns])}")
    lines.append(f"{'total added (the four stages)':42} {fmt(added)}")
    lines.append(
        f"{'  not counted: LLM request → first sentence':42} "
        f"{fmt([t.llm_to_sentence for t in turns])}   (upstream's tokens + streaming)"
    )
    lines.append(f"{'baseline: text say() → LLM request':42} {fmt(text_ms)}")
    lines.append(f"{'  voice: transcript → LLM request':42} {fmt([t.stages[1] for t in turns])}")
    if added and text_ms:
        for q in (50, 95):
            ratio = percentile(added, q) / percentile(text_ms, q)
            over = percentile(added, q) - percentile(text_ms, q)
            lines.append(f"  p{q}: voice added / text = {ratio:.2f}x ({over:+.1f} ms over text)")
        p50, p95 = percentile(added, 50), percentile(added, 95)
        met = p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS
        lines.append(
            f"  target p50 <= {TARGET_P50_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms: "
            f"{'met' if met else 'NOT MET'}"
        )
    return lines


async def part_local(
    services: Any, share: str, speech: bytes, args: argparse.Namespace
) -> list[str]:
    [sid] = await new_sessions(services, share, 1)
    respondent = VoiceRespondent(services, sid, next(NUMBERS), speech, None)
    await run_voice([respondent], args.local_turns)
    turns = voice_turns(respondent, None)
    v2v = [t.voice_to_voice for t in turns]
    return [
        f"2. Voice-to-voice, local engines (pocketsphinx + espeak-ng), 1 session x "
        f"{args.local_turns} answers ({len(turns)} turns), LLM on the test upstream",
        f"{'':42} {'p50 ms':>9} {'p95 ms':>9}",
        f"{'end of speech → first audio to the socket':42} {fmt(v2v)}"
        f"   each: {', '.join(f'{v:.0f}' for v in v2v)}",
        f"{'  of it: end of speech → end of turn':42} {fmt([t.silence for t in turns])}"
        "   (the listener's stop + the 700 ms window)",
        f"{'  pocketsphinx (STT request → done)':42} {fmt([t.stt for t in turns])}",
        f"{'  espeak-ng (TTS request → first byte)':42} {fmt([t.tts for t in turns])}",
        f"{'  transcript → first sentence':42} {fmt([t.to_sentence for t in turns])}"
        "   (the LLM engine, the log, the hub)",
        f"{'  runtime stages 1, 3 and 4':42} {fmt([t.added_but_llm for t in turns])}"
        "   (stage 2 is inside the line above here)",
    ]


async def part_concurrency(
    services: Any, upstream: Server, share: str, speech: bytes, args: argparse.Namespace
) -> list[str]:
    lines = [
        f"3. Concurrency: sessions at once, fake instant STT/TTS, {args.step_turns} answers each, "
        "frames at real-time pace",
        f"{'sessions':>8} {'added p50':>9} {'p95 ms':>9} {'frame lag p95':>13} {'turns':>6} "
        f"{'process CPU':>11} {'ffmpeg':>7} {'upstream':>8} {'redis':>6}  (cores used)",
    ]
    carried, used = 0, math.nan
    for count in [int(n) for n in args.steps.split(",")]:
        ids = await new_sessions(services, share, count)
        voices = [VoiceRespondent(services, s, next(NUMBERS), speech, FixedSpeech()) for s in ids]
        before, redis_before, began = cpu_now(upstream), await redis_cpu(), time.perf_counter()
        await run_voice(voices, args.step_turns)
        wall = time.perf_counter() - began
        after, redis_after = cpu_now(upstream), await redis_cpu()
        arrived = await arrivals(upstream)
        turns = [t for r in voices for t in voice_turns(r, arrived)]
        added = [t.added for t in turns if not math.isnan(t.added)]
        lags = [1000 * lag for r in voices for lag in r.lags]
        share_of = [(a - b) / wall for a, b in zip(after, before, strict=True)]
        p95 = percentile(added, 95) if added else math.inf
        lines.append(
            f"{count:8d} {fmt(added)} {percentile(lags, 95) if lags else 0.0:13.1f} "
            f"{len(turns):6d} {share_of[0]:11.2f} {share_of[1]:7.2f} {share_of[2]:8.2f} "
            f"{(redis_after - redis_before) / wall:6.2f}"
        )
        if p95 > TARGET_P95_MS or len(turns) < count * args.step_turns * 0.9:
            break
        carried, used = count, share_of[0]
    # One process is one event loop: its Python runs on one core at a time, whatever the
    # machine has; the target is judged on the sessions that one process carried.
    verdict = "met" if carried >= TARGET_PER_CORE else "NOT MET"
    lines.append(
        f"  carried with p95 <= {TARGET_P95_MS:g} ms: {carried} sessions in one process, "
        f"using {'—' if math.isnan(used) else f'{used:.2f}'} cores of CPU "
        f"({os.cpu_count()} on the machine; the Opus encoder's threads included, any "
        f"ffmpeg child apart); target >= {TARGET_PER_CORE} per core (one process): {verdict}"
    )
    return lines


async def part_storage(services: Any, speech: bytes, canned: bytes, rate: int) -> list[str]:
    from runtime.voice.clips import store_clip
    from runtime.voice.types import SAMPLE_RATE, Pcm
    from tests.runtime.voice.speech import silence

    minute = SAMPLE_RATE * 2 * 60
    talk = (speech * (minute // len(speech) + 1))[:minute]
    interviewer = (canned * (rate * 2 * 60 // len(canned) + 1))[: rate * 2 * 60]
    lines = [
        "4. Storage: Opus clips (16 kbit/s), one minute each, MB per hour of one channel",
        f"{'clip':34} {'MB/hour':>8} {'raw PCM MB/hour':>16} {'PCM / Opus':>11}",
    ]
    cases = (
        ("respondent speech, 16 kHz", Pcm(talk, SAMPLE_RATE)),
        ("respondent silence, 16 kHz", Pcm(silence(60_000), SAMPLE_RATE)),
        (f"interviewer speech, {rate // 1000} kHz", Pcm(interviewer, rate)),
    )
    worst = 0.0
    for name, pcm in cases:
        ref = await store_clip(services.blobs, "bench-storage", pcm, 0)
        await services.blobs.delete(ref.key)
        per_hour = ref.size_bytes * 3_600_000 / ref.duration_ms / 1e6
        raw = pcm.sample_rate * 2 * 3600 / 1e6
        worst = max(worst, per_hour)
        lines.append(f"{name:34} {per_hour:8.2f} {raw:16.1f} {raw / per_hour:10.1f}x")
    lines.append(
        f"  target <= {TARGET_MB_PER_HOUR:g} MB/hour/channel: "
        f"{'met' if worst <= TARGET_MB_PER_HOUR else 'NOT MET'}"
    )
    return lines


async def stored_clips(services: Any) -> str:
    """What part 1 and 2 stored, per role: MB per hour of the clips' own duration."""
    from runtime.stores import schema

    async with services.db.connect() as conn:
        rows = (
            await conn.execute(select(schema.messages.c.role, schema.messages.c.metadata))
        ).all()
    size: dict[str, int] = {}
    duration: dict[str, int] = {}
    for role, metadata in rows:
        audio = (metadata or {}).get("audio")
        if audio:
            size[role] = size.get(role, 0) + int(audio["size_bytes"])
            duration[role] = duration.get(role, 0) + int(audio["duration_ms"])
    parts = [
        f"{role} {size[role] * 3_600_000 / duration[role] / 1e6:.2f} MB/hour "
        f"({duration[role] / 1000:.0f} s)"
        for role in sorted(size)
        if duration[role]
    ]
    return "  stored by this run's sessions: " + ", ".join(parts)


async def measure(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> list[str]:
    from api.app import create_app
    from runtime.platform import logs
    from runtime.platform.settings import Settings
    from tests.conftest import new_key, serving
    from tests.helpers import published_interview
    from tests.runtime.voice.speech import spoken

    upstream = Server("upstream", "bench.voice_upstream:create", env, workdir)
    RUNNING.append(upstream)
    upstream.start(8192)
    await upstream.wait_ready("/v1/models")
    settings = Settings.from_env(
        {**env, "RAPPORT_LLM_BASE_URL": f"http://127.0.0.1:{upstream.port}/v1"}
    )
    # The access log at INFO would print a line per request into the report: warnings only.
    logs.configure("WARNING")
    app = create_app(settings)
    async with serving(app, lifespan="on") as base_url:
        services = app.state.services
        auth = {"authorization": f"Bearer {await new_key(services.db)}"}
        turns = max(args.turns, args.local_turns, args.step_turns) + 2
        async with httpx.AsyncClient(base_url=base_url, headers=auth) as client:
            interview = await published_interview(client, guide(turns), engine="llm")
        share = interview["share_token"]
        speech = spoken(ANSWER, "en-us")
        canned = await canned_pcm(services.tts)
        fake = dataclasses.replace(services, tts=CannedVoice(canned, services.tts.sample_rate))
        sentence_ms = len(canned) * 500 // services.tts.sample_rate
        out = [
            f"bench.voice, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.loop}, SQLite, "
            "LLM engine on "
            f"the test upstream ({args.token_delay_ms:g} ms a token), respondent speech "
            f"{len(speech) / 32:.0f} ms, interviewer sentence {sentence_ms} ms",
            "",
        ]
        parts = args.parts.split(",")
        if "1" in parts:
            out += [*await part_latency(fake, upstream, share, speech, args), ""]
        if "2" in parts:
            out += [*await part_local(services, share, speech, args), ""]
        if "3" in parts:
            out += [*await part_concurrency(fake, upstream, share, speech, args), ""]
        if "4" in parts:
            out += await part_storage(services, speech, canned, services.tts.sample_rate)
            out.append(await stored_clips(services))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = {
        "RAPPORT_LLM_MODEL": "mock",
        "RAPPORT_LLM_API_KEY": "not-needed",
        "UPSTREAM_TOKEN_DELAY_MS": str(args.token_delay_ms),
    }
    try:
        with prepared_run("sqlite", "rapport-voice-", settings) as (env, workdir):
            run = event_loop_runner() if args.loop == "uvloop" else asyncio.run
            print("\n".join(run(measure(args, env, workdir))))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
