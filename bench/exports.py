"""`python -m bench.exports`: streamed and async ZIP exports of sessions with audio, against a
plain stream-zip loop writing the same bytes; peak RSS at two sizes shows memory stays flat.

A real `rapport serve` streams the ZIP over HTTP and a real `rapport worker` writes the
export job to the blob store; their peak RSS is read from /proc (VmHWM) after each size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.export_seed import seed_sessions
from bench.stores import REDIS_URL, stores

MB = 1024 * 1024
RAPPORT = str(Path(sys.executable).parent / "rapport")
TARGET_RSS_MB = 100
NAMES = {"streamed": "streamed (HTTP)", "async": "async job", "baseline": "stream-zip loop"}


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _recording(seconds: int) -> bytes:
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
         "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "libopus", "-f", "webm",
         "pipe:1"],
        capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _seed(env: dict[str, str], data: Path, sizes: list[int], audio: bytes) -> list[str]:
    from sqlalchemy import update

    from runtime.access import keys
    from runtime.platform.settings import Settings
    from runtime.stores import migrate, schema
    from runtime.stores.blobs.local import LocalBlobStore
    from runtime.stores.database import Database

    settings = Settings.from_env(env)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    store = LocalBlobStore(data / "blobs", settings.secret_key, settings)
    await store.put("audio/bench.webm", audio, "audio/webm")
    db = Database.from_settings(settings)
    try:
        workspace = await keys.ensure_workspace(db, "bench")
        key = (await keys.create_key(db, workspace)).plaintext
        env["BENCH_KEY"] = key
        ids = []
        for size in sizes:
            from runtime.interviews import service as interviews

            made = await interviews.create(db, workspace, {"title": f"Bench {size}"})
            ids.append(made.id)
            # Seeded in bulk like its sessions: live, as an exported interview is (drafts
            # are refused), without the guide publishing would ask for.
            async with db.begin() as conn:
                await conn.execute(
                    update(schema.interviews)
                    .where(schema.interviews.c.id == made.id)
                    .values(status="active")
                )
            await seed_sessions(
                db, workspace, made.id, size, audio_key="audio/bench.webm",
                audio_size=len(audio),
            )  # fmt: skip
        return ids
    finally:
        await db.close()


async def _streamed(url: str, key: str, interview_id: str) -> tuple[int, float, bytes]:
    """Bytes and seconds of one streamed ZIP; keeps the first 4 MiB to check it is a ZIP."""
    size, head = 0, bytearray()
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {key}"}) as http,
        http.stream(
            "GET", f"/v1/interviews/{interview_id}/transcripts", params={"include_audio": "true"},
            timeout=600,
        ) as response,
    ):  # fmt: skip
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_raw():
            size += len(chunk)
    return size, time.perf_counter() - started, bytes(head)


async def _async_export(url: str, key: str, interview_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        created = (await http.post("/v1/exports", json={"interview_id": interview_id})).json()
        while True:
            state = (await http.get(f"/v1/exports/{created['id']}")).json()
            if state["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.2)  # another process writes it: poll
    assert state["status"] == "succeeded", state
    took = (
        datetime.fromisoformat(state["completed_at"]) - datetime.fromisoformat(state["created_at"])
    ).total_seconds()
    return {**state, "seconds": took}


def _baseline(transcripts: bytes, audio: bytes, sessions: int, work: Path) -> dict[str, Any]:
    (work / "t.json").write_bytes(transcripts)
    (work / "a.webm").write_bytes(audio)
    out = subprocess.run(
        [sys.executable, "-m", "bench.zip_baseline", str(work / "t.json"),
         str(work / "a.webm"), str(sessions)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def _transcripts_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return archive.read("transcripts.json")


async def run(args: argparse.Namespace) -> str:
    sizes = sorted(args.sizes)
    audio = _recording(args.audio_seconds)
    lines = [
        f"bench.exports: {', '.join(f'{s:,}' for s in sizes)} sessions, each with "
        f"{len(audio) / 1024:.0f} KiB of audio and 6 messages; database {args.database}",
    ]
    with tempfile.TemporaryDirectory(prefix="rapport-bench-exports-") as tmp:
        work = Path(tmp)
        with stores(args.database, work) as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "RAPPORT_DATA_DIR": str(work / "data"),
                "RAPPORT_SECRET_KEY": "bench-secret",
                "RAPPORT_IN_PROCESS_WORKER": "0",
                "RAPPORT_LOG_LEVEL": "WARNING",
            }
            interview_ids = await _seed(env, work / "data", sizes, audio)
            port = _port()
            url = f"http://127.0.0.1:{port}"
            serve = [RAPPORT, "serve", "--port", str(port)]
            with (
                _process(serve, env, work / "serve.log") as server,
                _process([RAPPORT, "worker"], env, work / "worker.log") as worker,
            ):
                await _ready(url)
                lines.append(
                    f"idle RSS: rapport serve {_hwm_mb(server.pid):.0f} MB, "
                    f"rapport worker {_hwm_mb(worker.pid):.0f} MB"
                )
                rows = []
                for size, interview_id in zip(sizes, interview_ids, strict=True):
                    rows.append(
                        await _measure(url, env["BENCH_KEY"], interview_id, size, server, worker,
                                       audio, work)
                    )  # fmt: skip
        lines += _table(rows)
    return "\n".join(lines)


async def _ready(url: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("rapport serve did not become ready")


async def _measure(
    url: str, key: str, interview_id: str, size: int, server: Any, worker: Any,
    audio: bytes, work: Path,
) -> dict[str, Any]:  # fmt: skip
    streamed_bytes, streamed_seconds, _ = await _streamed(url, key, interview_id)
    serve_rss = _hwm_mb(server.pid)
    done = await _async_export(url, key, interview_id)
    worker_rss = _hwm_mb(worker.pid)
    zip_path = work / "data" / "blobs" / "exports" / f"{done['id']}.zip"
    baseline = _baseline(_transcripts_of(zip_path), audio, size, work)
    zip_path.unlink()
    return {
        "sessions": size,
        "streamed": (streamed_bytes, streamed_seconds, serve_rss),
        "async": (done["size_bytes"], done["seconds"], worker_rss),
        "baseline": (baseline["bytes"], baseline["seconds"], baseline["rss_mb"]),
    }


def _table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "",
        f"{'sessions':>8} | {'export':<15} | {'MB':>8} | {'s':>7} | {'MB/s':>7} | "
        f"{'peak RSS MB':>11} | vs baseline (speed, RSS)",
        "-" * 96,
    ]
    for row in rows:
        base_bytes, base_s, base_rss = row["baseline"]
        base_rate = base_bytes / MB / base_s
        for label in ("streamed", "async", "baseline"):
            size, seconds, rss = row[label]
            rate = size / MB / seconds
            versus = (
                f"{rate / base_rate:.2f}x, {rss / base_rss:.2f}x" if label != "baseline" else "—"
            )
            out.append(
                f"{row['sessions']:>8,} | {NAMES[label]:<15} | {size / MB:>8.1f} | "
                f"{seconds:>7.2f} | {rate:>7.1f} | {rss:>11.0f} | {versus}"
            )
    peaks = [max(r["streamed"][2], r["async"][2]) for r in rows]
    out += [
        "",
        "peak RSS of the exporting process by size: "
        + ", ".join(f"{r['sessions']:,} → {p:.0f} MB" for r, p in zip(rows, peaks, strict=True)),
        f"target: peak RSS ≤ {TARGET_RSS_MB} MB at every size — "
        + ("met" if max(peaks) <= TARGET_RSS_MB else "NOT MET"),
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--audio-seconds", type=int, default=5)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
