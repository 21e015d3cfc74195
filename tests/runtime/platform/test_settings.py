"""Settings are declared once: each variable read, its default, and its line in the docs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from runtime.platform import settings
from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings

DOCS = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_every_variable_read_is_documented_and_every_documented_one_is_read() -> None:
    read = {var.name for var in settings.variables()}
    first_cells = re.findall(r"^\| (`[A-Z].*?) \|", DOCS.read_text(), re.M)
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert read == documented


def test_unset_means_the_declared_default(tmp_path: Path) -> None:
    env = {"RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_SECRET_KEY": "s", "HOME": "/home/r"}
    got = Settings.from_env(env)
    for declared in dataclasses.fields(Settings):
        if declared.name in ("data_dir", "database_url", "secret_key", "state_dir"):
            continue
        assert getattr(got, declared.name) == declared.default, declared.name
    assert got.database_url == f"sqlite+aiosqlite:///{tmp_path}/rapport.db"
    assert got.state_dir == Path("/home/r/.local/state/rapport")


def test_each_variable_is_read_as_its_type(tmp_path: Path) -> None:
    env = {
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_TURN_LEASE_MS": "700",
        "RAPPORT_SWEEP_INTERVAL_SECONDS": "0.25",
        "RAPPORT_IN_PROCESS_WORKER": "0",
        "RAPPORT_S3_PATH_STYLE": "1",
        "RAPPORT_CORS_ORIGINS": "https://a.example, https://b.example",
        "RAPPORT_LLM_MODEL": "",
        "RAPPORT_PUBLIC_URL": "https://rapport.example/",
        "DATABASE_URL": "postgres://db/rapport",
        "RAPPORT_STT_ENGINE": "openai",
        "RAPPORT_TTS_ENGINE": "",
    }
    got = Settings.from_env(env, persist=False)
    assert (got.stt_engine, got.tts_engine) == ("openai", "local")
    with pytest.raises(ConfigurationError, match="RAPPORT_TTS_ENGINE must be one of local, open"):
        Settings.from_env({**env, "RAPPORT_TTS_ENGINE": "piper"}, persist=False)
    assert got.turn_lease_ms == 700 and got.sweep_interval_seconds == 0.25
    assert got.run_worker_in_process is False and got.s3_path_style is True
    assert got.cors_origins == ("https://a.example", "https://b.example")
    assert got.llm_model == "gpt-4o-mini", "an empty name means the default"
    assert got.public_base_url == "https://rapport.example"
    assert got.database_url == "postgresql+asyncpg://db/rapport"
    with pytest.raises(ConfigurationError, match="RAPPORT_TURN_LEASE_MS must be an integer"):
        Settings.from_env({**env, "RAPPORT_TURN_LEASE_MS": "soon"}, persist=False)


def test_secrets_stay_out_of_the_repr() -> None:
    shown = repr(
        Settings(
            secret_key="k-secret",
            llm_api_key="l-secret",
            s3_secret_key="s-secret",
            stt_api_key="stt-secret",
            tts_api_key="tts-secret",
        )
    )
    assert "secret_key=" not in shown and "-secret" not in shown
