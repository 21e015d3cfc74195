"""What Rapport keeps on disk on the embedded defaults is its owner's alone, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import httpx

from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.conftest import new_key
from tests.helpers import audio_bytes, published_interview, start_session
from tests.processes import ServeProcess

EARLIER_SECRET = "an-earlier-secret-" + "x" * 40


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _as_an_earlier_version_left_it(data_dir: Path, sqlite: bool) -> None:
    """World-readable files, as before this version: the next start tightens them."""
    old = os.umask(0o022)
    try:
        (data_dir / "blobs" / "audio" / "ses_old").mkdir(parents=True)
        (data_dir / "blobs" / "audio" / "ses_old" / "a.webm").write_bytes(b"old recording")
        (data_dir / "blobs" / "audio" / "ses_old" / "a.webm.type").write_text("audio/webm")
        (data_dir / "secret_key").write_text(EARLIER_SECRET)
        if sqlite:
            sqlite3.connect(data_dir / "rapport.db").close()
            (data_dir / "rapport.db").chmod(0o644)
    finally:
        os.umask(old)
    assert _mode(data_dir) == 0o755 and _mode(data_dir / "secret_key") == 0o644


async def test_the_data_directory_is_owner_only_whatever_the_umask(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _as_an_earlier_version_left_it(data_dir, settings.sqlite)
    # The embedded defaults: no secret set (one lives in the data dir), local blobs, and on
    # SQLite the database file there too.
    env = {"REDIS_URL": settings.redis_url or "", "RAPPORT_SCRIPTED_DELTA_DELAY_MS": "0"}
    if not settings.sqlite:
        env["DATABASE_URL"] = settings.database_url
    node = await ServeProcess(env, data_dir, umask=0).start()
    try:
        own_db = db
        if settings.sqlite:
            own_db = Database.from_settings(
                Settings(database_url=f"sqlite+aiosqlite:///{data_dir}/rapport.db")
            )
        key = await new_key(own_db)
        async with httpx.AsyncClient(
            base_url=node.url, headers={"authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            interview = await published_interview(http)
            respondent = await start_session(http, interview["share_token"])
            uploaded = await http.put(
                f"/v1/sessions/{respondent.id}/audio",
                content=await audio_bytes("webm"),
                headers=respondent.auth,
            )
            assert uploaded.status_code == 201, uploaded.text
            assert (await respondent.say("We use it to plan.")).status_code == 202
            present = sorted(p.name for p in data_dir.iterdir())
            if settings.sqlite:
                # The server holds its connections: the WAL and shared-memory files exist.
                assert {"rapport.db", "rapport.db-wal", "rapport.db-shm"} <= set(present)
            loose = {
                str(path.relative_to(data_dir)): oct(_mode(path))
                for path in [data_dir, *data_dir.rglob("*")]
                if not path.is_socket() and _mode(path) != (0o700 if path.is_dir() else 0o600)
            }
        if own_db is not db:
            await own_db.close()
    finally:
        assert await node.stop() == 0
    assert loose == {}, f"not owner-only: {loose} (present: {present})"
    assert (data_dir / "secret_key").read_text() == EARLIER_SECRET, "tightened, not replaced"
    assert (data_dir / "blobs" / "audio" / f"{respondent.id}.webm").is_file(), "a new blob"


def test_a_generated_secret_is_owner_only_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    old = os.umask(0)
    try:
        first = Settings.from_env({"RAPPORT_DATA_DIR": str(data_dir)}).secret_key
        again = Settings.from_env({"RAPPORT_DATA_DIR": str(data_dir)}).secret_key
    finally:
        os.umask(old)
    assert len(first) >= 48 and again == first
    assert _mode(data_dir) == 0o700 and _mode(data_dir.parent) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret_key"], "nothing left aside"
