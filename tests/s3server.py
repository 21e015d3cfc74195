"""A real S3-compatible server for tests: Ceph RGW on one mon and one memstore OSD.

Run `python -m tests.s3server` to start one by hand; it prints the endpoint and keys.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port

ACCESS_KEY = "RAPPORTTESTACCESSKEY"
SECRET_KEY = "rapport-test-secret-key-0123456789abcdef"


def available() -> bool:
    return all(shutil.which(tool) for tool in ("ceph-mon", "ceph-osd", "radosgw", "monmaptool"))


@dataclass
class CephRgw:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rapport-rgw-")))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    endpoint: str = ""

    @property
    def conf(self) -> Path:
        return self.root / "ceph.conf"

    def _write_conf(self, mon_port: int, rgw_port: int) -> None:
        r = self.root
        self.conf.write_text(
            f"""[global]
fsid = {uuid.uuid4()}
mon host = v2:127.0.0.1:{mon_port}
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
run dir = {r}/run
admin socket = {r}/run/$name.asok
log file = {r}/log/$name.log
pid file = {r}/run/$name.pid
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon pg warn min per osd = 0
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
[mon]
mon data = {r}/mon/$name
[osd]
osd data = {r}/osd/$name
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {r}/rgw
rgw dns name = 127.0.0.1
"""
        )

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=60, check=False, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def _daemon(self, *args: str) -> None:
        self.procs.append(
            subprocess.Popen(
                [*args, "-f", "-c", str(self.conf)],
                stdout=subprocess.DEVNULL,
                stderr=(self.root / "log" / f"{args[0]}.stderr").open("wb"),
            )
        )

    def start(self, timeout: float = 60) -> CephRgw:
        for sub in ("run", "log", "mon/mon.a", "osd/osd.0", "rgw"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        mon_port, rgw_port = free_port(), free_port()
        self._write_conf(mon_port, rgw_port)
        conf = str(self.conf)
        fsid = self.conf.read_text().split("fsid = ", 1)[1].split("\n", 1)[0]
        monmap = str(self.root / "monmap")
        self._run(
            "monmaptool", "--create", "--fsid", fsid,
            "--addv", "a", f"[v2:127.0.0.1:{mon_port}]", monmap,
        )  # fmt: skip
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "-c", conf)
        self._daemon("ceph-mon", "-i", "a")
        self._run("ceph", "-c", conf, "osd", "create")
        self._run("ceph-osd", "-i", "0", "--mkfs", "-c", conf)
        self._daemon("ceph-osd", "-i", "0")
        self._daemon("radosgw", "-n", "client.rgw")
        self.endpoint = f"http://127.0.0.1:{rgw_port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._run(
                    "radosgw-admin", "-c", conf, "user", "create", "--uid", "rapport",
                    "--display-name", "rapport", "--access-key", ACCESS_KEY,
                    "--secret-key", SECRET_KEY,
                )  # fmt: skip
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self._wait_http(deadline)
        return self

    def _wait_http(self, deadline: float) -> None:
        import urllib.error
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any S3 answer (403 for anonymous) means it is serving
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"radosgw did not start; see {self.root}/log") from None
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    server = CephRgw().start()
    print(f"endpoint {server.endpoint}\naccess key {ACCESS_KEY}\nsecret key {SECRET_KEY}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
