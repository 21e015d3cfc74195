"""SSE benchmark: Rapport's live stream against a bare sse-starlette baseline, in one run.

    python -m bench.sse [--sessions N] [--idle-streams M] [--database sqlite|postgres]

Each server runs as its own uvicorn process (one worker, uvloop + httptools), so its memory
is its own. The client is this process: raw asyncio protocols on uvloop, so one core can
drive thousands of streams; it prints its own CPU use next to the server's so you can see
it was not the bottleneck. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.report import report
from bench.runs import Result, bench_baseline, bench_rapport
from bench.servers import RUNNING, Server, event_loop_runner, raise_nofile
from bench.stores import create_api_key, prepared_run

PING_SECONDS = 15  # Rapport's default sse_heartbeat_seconds; the baseline is told the same


async def main_async(args: Any, env: dict[str, str], workdir: Path, nofile: int) -> list[Result]:
    results: list[Result] = []
    api_key = await create_api_key(env)
    servers = [
        ("rapport", "bench.rapport_app:create", env),
        ("baseline", "bench.baseline_app:create", {**env, "BENCH_PING_SECONDS": str(PING_SECONDS)}),
    ]
    for name, factory, server_env in servers:
        if args.only and args.only != name:
            continue
        if args.tracemalloc:
            server_env = {**server_env, "BENCH_TRACEMALLOC": str(workdir / name)}
            (workdir / name).mkdir()
        server = Server(name, factory, server_env, workdir)
        RUNNING.append(server)
        print(f"{name}: starting uvicorn on port {server.port}…", file=sys.stderr)
        server.start(nofile)
        await server.wait_ready()
        try:
            if name == "rapport":
                result = await bench_rapport(server, env, api_key, args)
            else:
                result = await bench_baseline(server, args)
            if server.proc is not None and server.proc.poll() is not None:
                raise RuntimeError(f"{name} exited during the run:\n{server.tail()}")
            if problems := server.problems():
                kept = Path(tempfile.gettempdir()) / f"rapport-bench-{name}.log"
                shutil.copy(server.log, kept)
                print(f"--- {name} logged (the whole log: {kept}) ---", file=sys.stderr)
                print(problems, file=sys.stderr)
            if result.idle is not None:
                result.allocations = server.allocation_report(result.idle.opened)
            results.append(result)
        finally:
            await asyncio.sleep(0.5)  # let the server see the streams close
            server.stop()
    return results


def _sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def _rates(text: str) -> tuple[float, ...]:
    rates = tuple(float(part) for part in text.split(",") if part.strip())
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("rates must be positive numbers, e.g. 25,50,100")
    return rates


def parse_args(argv: list[str] | None) -> Any:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sessions", type=int, default=1000, help="concurrent sessions")
    parser.add_argument("--idle-streams", type=int, default=10000, help="idle streams to hold")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--rates",
        type=_rates,
        default=(25.0, 50.0, 100.0),
        help="posts per second of each paced round, in order (default 25,50,100)",
    )
    parser.add_argument("--no-burst", action="store_true", help="skip the all-at-once round")
    parser.add_argument(
        "--streams-per-session",
        type=int,
        default=1,
        help="idle streams per Rapport session (fewer sessions to create)",
    )
    parser.add_argument(
        "--idle-hold",
        type=float,
        default=None,
        help="seconds to hold the idle streams (default: one ping interval + 1 s at 5000 "
        "streams or more, else 2 s)",
    )
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--only", choices=("rapport", "baseline"), help="run one server only")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the servers' memory and print where the idle streams' memory went "
        "(distorts the RSS figures)",
    )
    args = parser.parse_args(argv)
    if args.idle_hold is None:
        args.idle_hold = PING_SECONDS + 1.0 if args.idle_streams >= 5000 else 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile(2 * args.sessions + args.idle_streams + 1024)
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        settings = {"RAPPORT_SCRIPTED_DELTA_DELAY_MS": "15"}
        with prepared_run(args.database, "rapport-bench-", settings) as (env, workdir):
            runner = event_loop_runner()
            results = runner(main_async(args, env, workdir, nofile))
            print(report(results, args, args.database))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
