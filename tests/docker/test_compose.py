"""docker/ kept true to the code: every variable it sets is read, every command runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from runtime.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
RAPPORT = str(Path(sys.executable).parent / "rapport")
RAPPORT_SERVICES = ("api", "worker")


class RecordingEnv(dict[str, str]):
    """An environment that remembers which names Settings.from_env asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


@pytest.mark.parametrize("service", RAPPORT_SERVICES)
def test_every_variable_is_one_rapport_reads(service: str, tmp_path: Path) -> None:
    environment = COMPOSE["services"][service]["environment"]
    values = {name: str(value) for name, value in environment.items()}
    # Compose interpolates ${…} itself; give the settings plausible values instead.
    values = {k: "x" if "${" in v else v for k, v in values.items()}
    values["RAPPORT_DATA_DIR"] = str(tmp_path)
    env = RecordingEnv(values)
    Settings.from_env(env)
    unread = set(environment) - env.asked
    assert not unread, f"{service} sets variables Rapport never reads: {sorted(unread)}"


@pytest.mark.parametrize("service", RAPPORT_SERVICES)
def test_every_command_is_a_rapport_command(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    result = subprocess.run([RAPPORT, *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_default_command_and_entrypoint_run() -> None:
    entrypoint = re.search(r"^ENTRYPOINT (.+)$", DOCKERFILE, re.M)
    cmd = re.search(r"^CMD (.+)$", DOCKERFILE, re.M)
    assert entrypoint and cmd
    argv = [*yaml.safe_load(entrypoint.group(1)), *yaml.safe_load(cmd.group(1))]
    assert argv[0] == "rapport"
    result = subprocess.run([RAPPORT, *argv[1:], "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_image_holds_every_package_and_the_static_files() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"\[tool\.setuptools\.packages\.find\]\s*include = \[(.*?)\]", pyproject)
    assert include
    packages = [p.strip(' "*') for p in include.group(1).split(",")]
    copied = set(re.findall(r"^COPY (\S+) \1$", DOCKERFILE, re.M))
    assert {*packages, "static"} <= copied


def test_dependencies_point_at_services_that_exist() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"
    assert services["worker"]["image"] == services["api"]["image"]


def test_every_image_pulled_is_pinned() -> None:
    built = {s["image"] for s in COMPOSE["services"].values() if "build" in s}
    for name, service in COMPOSE["services"].items():
        image = service["image"]
        if image in built:
            continue  # built here, from this checkout
        # A major version (postgres:16-alpine) or a release; never whatever `latest` is today.
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name} runs an unpinned image {image}"


def test_download_links_are_signed_for_an_address_browsers_reach() -> None:
    env = COMPOSE["x-rapport-env"]
    endpoint = urlsplit(env["RAPPORT_S3_ENDPOINT_URL"])
    public = env["RAPPORT_S3_PUBLIC_URL"]
    default = re.fullmatch(r"\$\{RAPPORT_S3_PUBLIC_URL:-(.+)\}", public)
    assert default, "overridable, with a default that works on the host running compose"
    published = urlsplit(default.group(1))
    assert published.hostname == "localhost" and published.hostname != endpoint.hostname
    s3 = next(s for s in COMPOSE["services"].values() if s.get("image", "").startswith("minio/"))
    assert f"{published.port}:{endpoint.port}" in s3["ports"]
