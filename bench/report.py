"""The printed report: latency and memory tables for both servers, their ratios, and the targets."""

from __future__ import annotations

import functools
import math
import os
import platform
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bench.latency import Round
from bench.memory import Idle
from bench.runs import Result

TARGET_STREAMS, TARGET_KB = 10_000, 20.0
TARGET_SESSIONS, TARGET_P99_MS = 1_000, 25.0

T = TypeVar("T")


def report(results: list[Result], args: Any, database: str) -> str:
    out = _heading(results, args, database)
    out += _latency(results, args)
    out += _memory({r.name: r.idle for r in results if r.idle is not None}, args)
    for r in results:
        if r.allocations:
            out.append("")
            out.extend(r.allocations)
    out += _targets({r.name: r for r in results}.get("rapport"), args)
    return "\n".join(out)


def _heading(results: list[Result], args: Any, database: str) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"Rapport SSE benchmark · {now} · {os.cpu_count()} CPUs · {platform.system()} "
        f"{platform.release()} · Python {platform.python_version()} · {database}",
        "servers: one uvicorn process each (uvloop, httptools, --no-access-log); "
        "client: this process, asyncio protocols on uvloop",
    ]
    for r in results:
        out.append(
            f"  {r.name}: RSS at start {r.rss_started / 1024:.1f} MB, open-file limit "
            f"{r.nofile}, {args.sessions - r.setup_failures}/{args.sessions} sessions live in "
            f"{r.setup_seconds:.1f}s"
        )
    return out


def _latency(results: list[Result], args: Any) -> list[str]:
    out = [
        "",
        f"POST → first turn.delta on the session's stream · {args.sessions} concurrent "
        "sessions, every stream open",
        f"{'round':<14}{'server':<10}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'202 p99':>9}{'fail':>6}{'srv CPU':>9}{'redis':>7}{'cli CPU':>9}{'cli lag p99':>13}",
    ]
    labels = [rd.label for rd in results[0].rounds] if results else []
    for index, label in enumerate(labels):
        rows = {r.name: r.rounds[index] for r in results if index < len(r.rounds)}
        first = next(iter(rows))  # the round's label goes on the first server that ran it
        out += _per_server(rows, functools.partial(_round_row, label, first), _round_ratio)
    every = ", ".join(f"{args.sessions / rate:g}s" for rate in args.rates)
    out.append(
        "  paced R/s: every session posts one answer, in a shuffled order, R posts a second "
        f"(so each of the {args.sessions} respondents answers once every {every}); "
        "burst: all at once. Each round waits for every turn to complete."
    )
    frames = {r.name: r.rounds[0].frame for r in results if r.rounds}
    for name, frame in frames.items():
        out.append(f"  first turn.delta as {name} sent it: {frame!r}")
    if len(frames) == 2:
        same = _normal(frames["rapport"]) == _normal(frames["baseline"])
        out.append(
            "  → the same bytes apart from the event id"
            if same
            else "  ! the baseline's frame differs from Rapport's: fix bench/baseline_app.py"
        )
    out.append(
        "  202 p99: POST → its 202; srv CPU, redis, cli CPU: share of one core used during the "
        "round by the server (SQLite threads included), the Redis server and this client; "
        "cli lag: how late the client wrote a POST against its schedule."
    )
    return out


def _memory(idles: dict[str, Idle], args: Any) -> list[str]:
    if not idles:
        return []
    hold = f"after {args.idle_hold:g}s"
    out = [
        "",
        f"Memory per idle stream · {args.idle_streams} streams opened at once on top of the "
        f"{args.sessions} session streams",
        f"{'server':<10}{'opened':>8}{'fail':>6}{'open/s':>8}{'RSS before':>12}"
        f"{'connected':>11}{'alive':>7}{'KB/stream':>10}{hold:>11}{'alive':>7}"
        f"{'KB/stream':>10}{'idle CPU':>10}{'pinged':>8}",
    ]

    out += _per_server(idles, _idle_row, _idle_ratio)
    per_session = (
        f"{args.streams_per_session} streams per session"
        if args.streams_per_session > 1
        else "one session per stream"
    )
    out.append(
        "  KB/stream = (RSS then - RSS before) / streams still open then; alive: streams "
        "the server had not dropped; pinged: streams that got a ping during the hold; idle "
        "CPU: server's share of one core during the hold."
    )
    out.append(
        f"  Rapport: {per_session}, sessions started through the runtime in the client "
        "process; a stream counts as open once it has replayed its session's log. "
        "Baseline: once its headers arrived."
    )
    for name, idle in idles.items():
        if idle.alive < idle.opened or idle.failures:
            out.append(
                f"  ! {name} failed to open {idle.failures} and dropped "
                f"{idle.opened - idle.alive} of {idle.opened} open streams "
                "(see the summary of its log printed above)"
            )
    return out


def _targets(rapport: Result | None, args: Any) -> list[str]:
    out = ["", "Targets"]
    if rapport and rapport.idle:
        idle = rapport.idle
        met = idle.alive == idle.streams and idle.kb_per_stream <= TARGET_KB
        out.append(
            f"  {TARGET_STREAMS:,} idle streams in one process at ≤ {TARGET_KB:g} KB each: "
            f"{idle.alive} of {idle.streams} still open after {idle.hold:g}s, "
            f"{idle.kb_per_stream:.1f} KB each → "
            + _verdict(met, idle.streams >= TARGET_STREAMS, f"{idle.streams} streams")
        )
    if rapport and rapport.rounds:
        scale = "" if args.sessions >= TARGET_SESSIONS else f" (only {args.sessions} sessions)"
        out.append(
            f"  p99 POST→first delta ≤ {TARGET_P99_MS:g} ms at {TARGET_SESSIONS:,} concurrent "
            f"sessions{scale}:"
        )
        for rd in rapport.rounds:
            p99 = percentile(rd.latencies, 99)
            met = not math.isnan(p99) and p99 <= TARGET_P99_MS and rd.failures == 0
            failed = f", {rd.failures} failed" if rd.failures else ""
            full = args.sessions >= TARGET_SESSIONS
            out.append(
                f"    {rd.label:<13} p99 {_ms(p99):>6} ms{failed} → "
                + _verdict(met, full, f"{args.sessions} sessions")
            )
    return out


def _per_server(
    rows: dict[str, T], row: Callable[[str, T], str], ratio: Callable[[T, T], str]
) -> list[str]:
    """A table's lines for one measurement: the baseline's row, Rapport's, and when both ran
    the ratio of Rapport's figures to the baseline's."""
    out = [row(name, rows[name]) for name in ("baseline", "rapport") if name in rows]
    if "baseline" in rows and "rapport" in rows:
        out.append(ratio(rows["rapport"], rows["baseline"]))
    return out


def _round_row(label: str, first: str, name: str, rd: Round) -> str:
    return (
        f"{label if name == first else '':<14}{name:<10}"
        f"{len(rd.latencies):>6}{_ms(percentile(rd.latencies, 50)):>9}"
        f"{_ms(percentile(rd.latencies, 99)):>9}{_ms(_max(rd.latencies)):>9}"
        f"{_ms(percentile(rd.acks, 99)):>9}{rd.failures:>6}"
        f"{rd.server_cpu:>8.0%}{rd.redis_cpu:>7.0%}{rd.client_cpu:>9.0%}"
        f"{_ms(percentile(rd.lags, 99)):>13}"
    )


def _round_ratio(ours: Round, theirs: Round) -> str:
    return (
        f"{'':<14}{'ratio':<10}{'':>6}"
        f"{_ratio(percentile(ours.latencies, 50), percentile(theirs.latencies, 50)):>9}"
        f"{_ratio(percentile(ours.latencies, 99), percentile(theirs.latencies, 99)):>9}"
        f"{_ratio(_max(ours.latencies), _max(theirs.latencies)):>9}"
    )


def _idle_row(name: str, idle: Idle) -> str:
    return (
        f"{name:<10}{idle.opened:>8}{idle.failures:>6}"
        f"{idle.opened / idle.open_seconds:>8.0f}{idle.rss_before / 1024:>9.1f} MB"
        f"{idle.rss_connected / 1024:>8.1f} MB{idle.alive_connected:>7}"
        f"{idle.kb_connected:>10.1f}{idle.rss_held / 1024:>8.1f} MB{idle.alive:>7}"
        f"{idle.kb_per_stream:>10.1f}{idle.hold_cpu:>10.0%}{idle.pinged:>8}"
    )


def _idle_ratio(mine: Idle, bare: Idle) -> str:
    return (
        f"{'ratio':<10}{'':>8}{'':>6}{'':>8}{'':>12}{'':>11}{'':>7}"
        f"{_ratio(mine.kb_connected, bare.kb_connected):>10}{'':>11}{'':>7}"
        f"{_ratio(mine.kb_per_stream, bare.kb_per_stream):>10}"
    )


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _max(values: Sequence[float]) -> float:
    return max(values, default=math.nan)


def _normal(frame: bytes) -> bytes:
    """A frame with its event id (a Redis Stream id, or the baseline's imitation) blanked."""
    return re.sub(rb"^id: [0-9-]+", b"id: <id>", frame, flags=re.MULTILINE)


def _verdict(met: bool, full_scale: bool, scale: str) -> str:
    if not met:
        return "NOT MET"
    return "met" if full_scale else f"met at {scale} only; run at full scale to judge"


def _ratio(ours: float, theirs: float) -> str:
    if math.isnan(ours) or math.isnan(theirs) or theirs <= 0:
        return "—"
    return f"x{ours / theirs:.1f}"
