"""`python -m bench.synthesis`: a synthesis of 100, 1,000 and 10,000 sessions on one core.

Each size is seeded into a database of its own (bench.synthesis_corpus: eight planted themes
with paraphrases and noise), then two fresh processes, each pinned to one core with one
thread for the numeric libraries, read the same sessions:

- **Rapport**: a real synthesis run (runtime.analysis.synthesis.pipeline, the offline
  engine, the defaults): read page by page, themes, sentiment, divergent views, every quote
  verified, the report stored. Then a re-run after 1 % more sessions, which reads only those.
- **Baseline**: what a bare scikit-learn run of the same texts costs: all respondent
  messages read into memory, TfidfVectorizer (English stopwords, 1- and 2-grams) and KMeans with
  the planted number of themes; no quotes, no sentiment, nothing stored.

Printed per size: wall and CPU seconds, peak RSS (VmHWM) of each process, the ratio, and the
Rapport run's theme recovery against the planted themes (Hungarian-matched F1,
runtime.analysis.agreement). Target: 1,000 sessions in ≤ 60 s; memory that does not grow
with the session count beyond what the result holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (100, 1000, 10000)
TARGET_SECONDS_AT_1000 = 60.0
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _settings(url: str, data: Path) -> Any:
    from runtime.platform.settings import Settings

    return Settings.from_env(
        {"DATABASE_URL": url, "RAPPORT_DATA_DIR": str(data), "REDIS_URL": "redis://unused"}
    )


async def _seed(url: str, data: Path, size: int, first: int = 0) -> str:
    from sqlalchemy import update

    from bench import synthesis_corpus as corpus
    from bench.export_seed import seed_sessions
    from runtime.access import keys
    from runtime.interviews import service as interviews
    from runtime.stores import schema
    from runtime.stores.database import Database

    db = Database.from_settings(_settings(url, data))
    try:
        workspace = await keys.ensure_workspace(db, "bench")
        found = await interviews.list_page(db, workspace, status=None, cursor=None, limit=1)
        if found.items:
            interview_id = found.items[0].id
        else:
            made = await interviews.create(db, workspace, {"title": "Bench synthesis"})
            interview_id = made.id
            async with db.begin() as conn:
                await conn.execute(
                    update(schema.interviews)
                    .where(schema.interviews.c.id == interview_id)
                    .values(status="active")
                )

        def answer(n: int, question: int) -> str:
            return corpus.answer(first + n, question)

        await seed_sessions(
            db, workspace, interview_id, size, audio_key=None,
            messages_per_session=2 * corpus.QUESTIONS, answer=answer,
        )  # fmt: skip
        return interview_id
    finally:
        await db.close()


async def _rapport(url: str, data: Path, interview_id: str) -> dict[str, Any]:
    from runtime.access import keys
    from runtime.analysis.corpus import Filters
    from runtime.analysis.synthesis import engines, pipeline, records
    from runtime.services import llm_client_from
    from runtime.stores.database import Database

    settings = _settings(url, data)
    db = Database.from_settings(settings)
    try:
        workspace = await keys.ensure_workspace(db, "bench")
        row, _ = await records.create(db, workspace, interview_id, "offline", Filters())
        factory = engines.factory(db, settings, llm_client_from(settings))
        started, cpu = time.perf_counter(), time.process_time()
        ran = await pipeline.run(db, row["id"], factory)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        done = await records.load(db, row["id"])
        return {
            "seconds": seconds,
            "cpu": cpu_seconds,
            "themes": ran.themes,
            "result": done.result,
            "sessions": done.session_count,
        }
    finally:
        await db.close()


async def _baseline(url: str, data: Path, interview_id: str, k: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    from runtime.analysis.corpus import Filters, sessions
    from runtime.stores.database import Database

    db = Database.from_settings(_settings(url, data))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        texts = [a.text async for s in sessions(db, interview_id, Filters()) for a in s.answers]
        vectors = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2)
        matrix = vectors.fit_transform(texts)
        KMeans(n_clusters=k, random_state=0, n_init=1).fit(matrix)
        return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}
    finally:
        await db.close()


def _probe(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    data = Path(args.data)
    if args.probe == "rapport":
        out = asyncio.run(_rapport(args.url, data, args.interview))
    else:
        out = asyncio.run(_baseline(args.url, data, args.interview, args.k))
    out["peak_mb"] = _peak_rss_mb()
    print(json.dumps(out, default=str))


def _child(kind: str, url: str, data: Path, interview_id: str, k: int = 8) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "bench.synthesis", "--probe", kind, "--url", url,
        "--data", str(data), "--interview", interview_id, "--k", str(k),
    ]  # fmt: skip
    env = {**os.environ, **ONE_THREAD, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} probe failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _f1(result: dict[str, Any], size: int, ids_by_number: dict[str, int]) -> float:
    from bench import synthesis_corpus as corpus
    from runtime.analysis import agreement

    found = [
        frozenset(str(ids_by_number[s]) for s in theme["session_ids"] if s in ids_by_number)
        for theme in result["themes"]
    ]
    truth = [frozenset(map(str, held)) for held in corpus.planted(size).values()]
    return agreement.agreement(found, truth).f1


async def _numbers(url: str, data: Path, interview_id: str) -> dict[str, int]:
    """Session id → its seeded number (its order of creation)."""
    from runtime.analysis.corpus import Filters, sessions
    from runtime.stores.database import Database

    db = Database.from_settings(_settings(url, data))
    try:
        return {s.session_id: s.number - 1 async for s in sessions(db, interview_id, Filters())}
    finally:
        await db.close()


def run(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    from runtime.stores import migrate

    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-synthesis-") as tmp:
            data = Path(tmp)
            url = f"sqlite:///{data / 'rapport.db'}"
            migrate.upgrade(_settings(url, data).database_url)
            seeded = time.perf_counter()
            interview_id = asyncio.run(_seed(url, data, size))
            seed_seconds = time.perf_counter() - seeded
            ours = _child("rapport", url, data, interview_id)
            base = _child("baseline", url, data, interview_id)
            numbers = asyncio.run(_numbers(url, data, interview_id))
            f1 = _f1(ours["result"], size, numbers)
            more = max(1, size // 100)
            asyncio.run(_seed(url, data, more, first=size))
            again = _child("rapport", url, data, interview_id)
            counts = again["result"]["counts"]
            row = {
                "sessions": size, "seed_s": seed_seconds, "ours": ours, "base": base,
                "f1": f1, "rerun": again, "rerun_read": counts["sessions_read"],
                "rerun_reused": counts["sessions_reused"], "added": more,
            }  # fmt: skip
            rows.append(row)
            _print_row(row)
    return rows


def _print_row(r: dict[str, Any]) -> None:
    ours, base, again = r["ours"], r["base"], r["rerun"]
    print(
        f"{r['sessions']:>6} sessions | rapport {ours['seconds']:7.2f} s "
        f"(cpu {ours['cpu']:6.2f}) {ours['peak_mb']:6.0f} MB, {ours['themes']} themes, "
        f"F1 {r['f1']:.2f} | baseline {base['seconds']:6.2f} s {base['peak_mb']:6.0f} MB | "
        f"time x{ours['seconds'] / max(base['seconds'], 1e-9):.1f}, "
        f"memory x{ours['peak_mb'] / max(base['peak_mb'], 1e-9):.2f} | re-run +{r['added']}: "
        f"{again['seconds']:.2f} s, read {r['rerun_read']}, reused {r['rerun_reused']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--probe", choices=("rapport", "baseline"))
    parser.add_argument("--url")
    parser.add_argument("--data")
    parser.add_argument("--interview")
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    if args.probe:
        _probe(args)
        return
    rows = run(tuple(int(s) for s in args.sizes.split(",")))
    at_1000 = next((r for r in rows if r["sessions"] == 1000), None)
    if at_1000 is not None:
        met = at_1000["ours"]["seconds"] <= TARGET_SECONDS_AT_1000
        print(f"target: 1,000 sessions in ≤ {TARGET_SECONDS_AT_1000:.0f} s: "
              f"{'met' if met else 'NOT MET'} ({at_1000['ours']['seconds']:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
