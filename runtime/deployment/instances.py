"""A record of the `rapport serve` processes running on this machine, to name them to commands
run elsewhere (a `keys create` in another directory would make a key they never see)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from runtime.platform.clock import utcnow
from runtime.platform.private_files import private_dir
from runtime.platform.settings import Settings


@dataclass(frozen=True)
class Instance:
    pid: int
    url: str
    data_dir: str
    database: str  # where its SQL lives: a SQLite file's path, else the URL without password
    started_at: str

    def __str__(self) -> str:
        return f"the server at {self.url} (pid {self.pid}) uses {self.database}"


def database_of(settings: Settings) -> str:
    """The database a process uses, comparable across processes and directories."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def sqlite_path(settings: Settings) -> Path | None:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve()
    return None


def _records(settings: Settings) -> Path:
    return settings.state_dir / "servers"


@contextlib.contextmanager
def registered(settings: Settings, url: str) -> Iterator[Instance]:
    """Record this process as a server while the block runs. The record is locked for as
    long as the process lives, so a record left by a killed server is known to be stale."""
    records = _records(settings)
    private_dir(records)  # the state directory too: a umask of 0 would leave it 0777
    me = Instance(
        os.getpid(),
        url,
        str(settings.data_dir.resolve()),
        database_of(settings),
        utcnow().isoformat(),
    )
    path = records / f"{me.pid}.json"
    # Locked and written before it is given its name: a reader never sees it half made.
    draft = records / f".{me.pid}.draft"
    fd = os.open(draft, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps(asdict(me)).encode())
        os.replace(draft, path)
        yield me
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def running(settings: Settings) -> list[Instance]:
    """The servers running now; stale records (of killed servers) are removed."""
    records = _records(settings)
    if not records.is_dir():
        return []
    found: list[Instance] = []
    for path in sorted(records.glob("*.json")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # it stopped meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                with contextlib.suppress(ValueError, TypeError, json.JSONDecodeError):
                    found.append(Instance(**json.loads(path.read_text())))
                continue
            path.unlink(missing_ok=True)  # nobody holds it: its server is gone
        finally:
            os.close(fd)
    return found


def elsewhere(settings: Settings) -> list[Instance]:
    """Running servers that do not use this process's database."""
    mine = database_of(settings)
    return [found for found in running(settings) if found.database != mine]
