"""The deployment's settings, read once from the environment into a frozen object.

Each setting is declared once, below: its field, type and default, and the environment
variable it is read from with how that text is read (docs/configuration.md lists them all).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from runtime.platform import private_files
from runtime.platform.errors import ConfigurationError

T = TypeVar("T")
# Reads a variable's text: (variable name, its text) -> the value, or ConfigurationError.
Parse = Callable[[str, str], T]

# Where transcript PDFs look for their fonts, by file name: fontconfig's default directories
# on Debian (what `fc-list` lists comes from these).
DEFAULT_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("~/.local/share/fonts").expanduser(),
    Path("~/.fonts").expanduser(),
)


@dataclass(frozen=True)
class Var:
    """Where one setting comes from: its environment variable and how its text is read."""

    name: str
    parse: Parse[object]
    # An empty value means the default (numbers, names); otherwise it is read as given
    # (RAPPORT_CORS_ORIGINS= allows no origin).
    blank_is_default: bool


def _text(name: str, raw: str) -> str:
    return raw


def _url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def _upper(name: str, raw: str) -> str:
    return raw.upper()


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _user_path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc


def _one_of(*choices: str) -> Parse[str]:
    def parse(name: str, raw: str) -> str:
        if raw not in choices:
            raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw

    return parse


SPEECH_ENGINES = ("local", "openai")


def _origins(name: str, raw: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in raw.split(",") if o.strip())


def _paths(name: str, raw: str) -> tuple[Path, ...]:
    """A list of directories separated by `:` (os.pathsep), as PATH is."""
    return tuple(Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip())


def setting(
    name: str,
    default: T,
    parse: Parse[T] | None = None,
    *,
    blank_is_default: bool = False,
    secret: bool = False,
) -> T:
    """A field read from the variable `name`; `parse` defaults to the default's type (ints
    and floats take an empty value as unset)."""
    reader: Parse[Any]
    if parse is not None:
        reader = parse
    elif isinstance(default, bool):
        reader = _flag(default)
    elif isinstance(default, int | float):
        reader = _int if isinstance(default, int) else _float
        blank_is_default = True
    else:
        reader = _text
    var = Var(name, reader, blank_is_default)
    made: T = field(default=default, repr=not secret, metadata={"env": var})
    return made


def _flag(default: bool) -> Parse[bool]:
    # Only the opposite of the default changes it: `0` turns a default-on flag off, `1` a
    # default-off one on.
    flip = "0" if default else "1"

    def parse(name: str, raw: str) -> bool:
        return (not default) if raw == flip else default

    return parse


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting("RAPPORT_DATA_DIR", Path("./data"), _path, blank_is_default=True)
    # Unset: a SQLite file in the data directory (from_env).
    database_url: str = setting("DATABASE_URL", "")
    # Unset: the CLI's embedded Redis (runtime/cli/main.py).
    redis_url: str | None = setting("REDIS_URL", None, _text, blank_is_default=True)
    redis_max_connections: int = setting("RAPPORT_REDIS_MAX_CONNECTIONS", 100)
    # Unset: generated once into the data directory (from_env).
    secret_key: str = setting("RAPPORT_SECRET_KEY", "", secret=True)
    public_base_url: str = setting("RAPPORT_PUBLIC_URL", "", _url)
    # Limits: documented in docs/limits.md; each is enforced where it applies.
    max_body_bytes: int = setting("RAPPORT_MAX_BODY_BYTES", 1_048_576)
    max_message_chars: int = setting("RAPPORT_MAX_MESSAGE_CHARS", 8_000)
    page_limit_default: int = 20
    page_limit_max: int = 100
    # Live sessions.
    ticket_ttl_seconds: int = setting("RAPPORT_TICKET_TTL_SECONDS", 600)
    # A console sign-in (runtime/access/console_tickets.py): renewed while the page is open.
    console_ticket_ttl_seconds: int = setting("RAPPORT_CONSOLE_TICKET_TTL_SECONDS", 900)
    session_idle_timeout_seconds: int = setting("RAPPORT_SESSION_IDLE_TIMEOUT_SECONDS", 1800)
    turn_lease_ms: int = setting("RAPPORT_TURN_LEASE_MS", 5000)
    sweep_interval_seconds: float = setting("RAPPORT_SWEEP_INTERVAL_SECONDS", 1.0)
    event_log_ttl_seconds: int = setting("RAPPORT_EVENT_LOG_TTL_SECONDS", 7 * 24 * 3600)
    sse_heartbeat_seconds: float = setting("RAPPORT_SSE_HEARTBEAT_SECONDS", 15.0)
    scripted_delta_delay_ms: int = setting("RAPPORT_SCRIPTED_DELTA_DELAY_MS", 15)
    turn_max_attempts: int = setting("RAPPORT_TURN_MAX_ATTEMPTS", 3)
    # The LLM interviewer (docs/llm.md): any OpenAI-compatible endpoint.
    llm_base_url: str = setting("RAPPORT_LLM_BASE_URL", "", _url)
    llm_api_key: str = setting("RAPPORT_LLM_API_KEY", "", secret=True)
    llm_model: str = setting("RAPPORT_LLM_MODEL", "gpt-4o-mini", blank_is_default=True)
    llm_temperature: float = setting("RAPPORT_LLM_TEMPERATURE", 0.4)
    llm_max_tokens: int = setting("RAPPORT_LLM_MAX_TOKENS", 400)
    llm_first_token_timeout_ms: int = setting("RAPPORT_LLM_FIRST_TOKEN_TIMEOUT_MS", 10_000)
    llm_token_timeout_ms: int = setting("RAPPORT_LLM_TOKEN_TIMEOUT_MS", 5_000)
    llm_turn_deadline_ms: int = setting("RAPPORT_LLM_TURN_DEADLINE_MS", 20_000)
    # Speech (docs/voice.md): `local` engines need no network; `openai` is any
    # OpenAI-compatible endpoint, configured apart for recognition and for synthesis.
    stt_engine: str = setting(
        "RAPPORT_STT_ENGINE", "local", _one_of(*SPEECH_ENGINES), blank_is_default=True
    )
    stt_base_url: str = setting("RAPPORT_STT_BASE_URL", "", _url)
    stt_api_key: str = setting("RAPPORT_STT_API_KEY", "", secret=True)
    stt_model: str = setting("RAPPORT_STT_MODEL", "whisper-1", blank_is_default=True)
    stt_timeout_ms: int = setting("RAPPORT_STT_TIMEOUT_MS", 15_000)
    # The final transcript's pass over a finished voice session (docs/voice.md): may be a
    # larger, slower model than the live one. Unset (empty): the live setting's value.
    stt_final_engine: str = setting(
        "RAPPORT_STT_FINAL_ENGINE", "", _one_of(*SPEECH_ENGINES), blank_is_default=True
    )
    stt_final_base_url: str = setting("RAPPORT_STT_FINAL_BASE_URL", "", _url)
    stt_final_api_key: str = setting("RAPPORT_STT_FINAL_API_KEY", "", secret=True)
    stt_final_model: str = setting("RAPPORT_STT_FINAL_MODEL", "")
    stt_final_timeout_ms: int = setting("RAPPORT_STT_FINAL_TIMEOUT_MS", 120_000)
    # The final pass starts this long after the session ends (its last turn's audio is
    # stored once it has been spoken), and a failed recognition is retried after this
    # long, doubling each time (RAPPORT_VOICE_FINAL_ATTEMPTS attempts in all).
    voice_final_delay_seconds: float = setting("RAPPORT_VOICE_FINAL_DELAY_SECONDS", 10.0)
    voice_final_retry_delay_seconds: float = setting("RAPPORT_VOICE_FINAL_RETRY_DELAY_SECONDS", 5.0)
    voice_final_attempts: int = setting("RAPPORT_VOICE_FINAL_ATTEMPTS", 4)
    tts_engine: str = setting(
        "RAPPORT_TTS_ENGINE", "local", _one_of(*SPEECH_ENGINES), blank_is_default=True
    )
    tts_base_url: str = setting("RAPPORT_TTS_BASE_URL", "", _url)
    tts_api_key: str = setting("RAPPORT_TTS_API_KEY", "", secret=True)
    tts_model: str = setting("RAPPORT_TTS_MODEL", "tts-1", blank_is_default=True)
    # Unset: the engine's own default (`alloy` for openai, `en-us` for espeak-ng).
    tts_voice: str = setting("RAPPORT_TTS_VOICE", "")
    # The rate of the PCM the TTS endpoint sends (OpenAI's and Kokoro's pcm: 24 kHz); the
    # local engine resamples to it.
    tts_sample_rate: int = setting("RAPPORT_TTS_SAMPLE_RATE", 24_000)
    tts_first_byte_timeout_ms: int = setting("RAPPORT_TTS_FIRST_BYTE_TIMEOUT_MS", 10_000)
    tts_chunk_timeout_ms: int = setting("RAPPORT_TTS_CHUNK_TIMEOUT_MS", 5_000)
    run_worker_in_process: bool = setting("RAPPORT_IN_PROCESS_WORKER", True)
    # Background jobs (saq).
    worker_concurrency: int = setting("RAPPORT_WORKER_CONCURRENCY", 4)
    job_sweep_seconds: int = setting("RAPPORT_JOB_SWEEP_SECONDS", 10)
    shutdown_grace_seconds: int = setting("RAPPORT_SHUTDOWN_GRACE_SECONDS", 10)
    cors_origins: tuple[str, ...] = setting("RAPPORT_CORS_ORIGINS", ("*",), _origins)
    log_level: str = setting("RAPPORT_LOG_LEVEL", "INFO", _upper)
    # Platform API: rate limits (limits' notation, e.g. "600/minute"), idempotency, webhooks.
    rate_limit_plans: tuple[tuple[str, str], ...] = setting(
        "RAPPORT_RATE_LIMIT_PLANS", (("default", "600/minute"),), lambda _, raw: _plans(raw)
    )
    # Respondents behind one address (an office NAT) share the address limit; what each does
    # in their session counts against that session (docs/limits.md has the reasons).
    public_rate_limit: str = setting("RAPPORT_PUBLIC_RATE_LIMIT", "6000/minute")
    session_rate_limit: str = setting("RAPPORT_SESSION_RATE_LIMIT", "120/minute")
    session_start_rate_limit: str = setting("RAPPORT_SESSION_START_RATE_LIMIT", "1000/hour")
    trusted_proxy_hops: int = setting("RAPPORT_TRUSTED_PROXY_HOPS", 0)
    idempotency_ttl_seconds: int = setting("RAPPORT_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
    webhook_allow_private: bool = setting("RAPPORT_WEBHOOK_ALLOW_PRIVATE", False)
    webhook_timeout_seconds: float = setting("RAPPORT_WEBHOOK_TIMEOUT_SECONDS", 10.0)
    webhook_max_response_bytes: int = setting("RAPPORT_WEBHOOK_MAX_RESPONSE_BYTES", 4096)
    webhook_delivery_interval_seconds: float = setting(
        "RAPPORT_WEBHOOK_DELIVERY_INTERVAL_SECONDS", 1.0
    )
    max_webhooks_per_workspace: int = setting("RAPPORT_MAX_WEBHOOKS_PER_WORKSPACE", 20)
    # Blob store (audio, PDFs, exports): a local directory, or any S3-compatible bucket.
    blob_store: str = setting("RAPPORT_BLOB_STORE", "local")
    s3_endpoint_url: str = setting("RAPPORT_S3_ENDPOINT_URL", "")
    s3_bucket: str = setting("RAPPORT_S3_BUCKET", "rapport")
    s3_region: str = setting("RAPPORT_S3_REGION", "us-east-1")
    s3_access_key: str = setting("RAPPORT_S3_ACCESS_KEY_ID", "")
    s3_secret_key: str = setting("RAPPORT_S3_SECRET_ACCESS_KEY", "", secret=True)
    s3_path_style: bool = setting("RAPPORT_S3_PATH_STYLE", False)
    # Signs download links for browsers (the endpoint: everything else).
    s3_public_url: str = setting("RAPPORT_S3_PUBLIC_URL", "", _url)
    signed_url_ttl_seconds: int = setting("RAPPORT_SIGNED_URL_TTL_SECONDS", 3600)
    max_audio_bytes: int = setting("RAPPORT_MAX_AUDIO_BYTES", 200 * 1024 * 1024)
    # One recorded utterance (POST /v1/sessions/{id}/utterances): a minute of 48 kHz WAV fits.
    max_utterance_bytes: int = setting("RAPPORT_MAX_UTTERANCE_BYTES", 10 * 1024 * 1024)
    export_page_size: int = setting("RAPPORT_EXPORT_PAGE_SIZE", 200)
    export_page_pause_ms: int = setting("RAPPORT_EXPORT_PAGE_PAUSE_MS", 0)
    job_heartbeat_seconds: int = setting("RAPPORT_JOB_HEARTBEAT_SECONDS", 15)
    export_retention_hours: float = setting("RAPPORT_EXPORT_RETENTION_HOURS", 168.0)
    export_upkeep_seconds: float = setting("RAPPORT_EXPORT_UPKEEP_SECONDS", 300.0)
    # Prometheus metrics on a port of their own (0: only GET /metrics, with a key).
    metrics_port: int = setting("RAPPORT_METRICS_PORT", 0)
    metrics_host: str = setting("RAPPORT_METRICS_HOST", "127.0.0.1", blank_is_default=True)
    # Erasure and retention (docs/erasure.md).
    retention_interval_seconds: float = setting("RAPPORT_RETENTION_INTERVAL_SECONDS", 600.0)
    # Store timeouts (docs/configuration.md): a store that stalls fails the request fast
    # with 503 unavailable instead of holding it.
    redis_timeout_seconds: float = setting("RAPPORT_REDIS_TIMEOUT_SECONDS", 2.0)
    redis_pool_timeout_seconds: float = setting("RAPPORT_REDIS_POOL_TIMEOUT_SECONDS", 5.0)
    db_lock_timeout_ms: int = setting("RAPPORT_DB_LOCK_TIMEOUT_MS", 3000)
    db_statement_timeout_ms: int = setting("RAPPORT_DB_STATEMENT_TIMEOUT_MS", 30_000)
    db_pool_timeout_seconds: float = setting("RAPPORT_DB_POOL_TIMEOUT_SECONDS", 5.0)
    sqlite_busy_timeout_ms: int = setting("RAPPORT_SQLITE_BUSY_TIMEOUT_MS", 5000)
    ready_timeout_seconds: float = setting("RAPPORT_READY_TIMEOUT_SECONDS", 2.0)
    # Where `rapport serve` records itself while it runs, for commands run elsewhere.
    # Unset: $XDG_RUNTIME_DIR/rapport, else ~/.local/state/rapport (from_env).
    state_dir: Path = field(
        default_factory=lambda: Path.home() / ".local" / "state" / "rapport",
        metadata={"env": Var("RAPPORT_STATE_DIR", _user_path, blank_is_default=True)},
    )
    pdf_font_dirs: tuple[Path, ...] = setting("RAPPORT_PDF_FONT_DIRS", DEFAULT_FONT_DIRS, _paths)

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, persist: bool = True) -> Settings:
        """Build settings from an environment mapping (os.environ by default). `persist`
        False: write nothing (a command that signs nothing need not create the data dir)."""
        env = os.environ if env is None else env
        read: dict[str, Any] = {}
        for declared in fields(cls):
            var = variable(declared.name)
            raw = None if var is None else env.get(var.name)
            if var is None or raw is None or (raw == "" and var.blank_is_default):
                continue
            read[declared.name] = var.parse(var.name, raw)
        # The defaults that depend on other settings, or on the rest of the environment.
        data_dir: Path = read.get("data_dir", cls.data_dir)
        database_url = read.get("database_url") or f"sqlite+aiosqlite:///{data_dir}/rapport.db"
        read["database_url"] = _async_driver(database_url)
        read["secret_key"] = read.get("secret_key") or _persistent_secret(data_dir, persist)
        read.setdefault("state_dir", _default_state_dir(env))
        return cls(**read)


def variable(name: str) -> Var | None:
    """The environment variable a Settings field is read from (None: not configurable)."""
    for declared in fields(Settings):
        if declared.name == name:
            var = declared.metadata.get("env")
            return var if isinstance(var, Var) else None
    raise KeyError(name)


def variables() -> list[Var]:
    """Every variable Settings reads, in declaration order."""
    return [v for f in fields(Settings) if (v := variable(f.name)) is not None]


def _plans(raw: str) -> tuple[tuple[str, str], ...]:
    """`name=limit,name=limit`; a plan named `default` must be among them."""
    plans: list[tuple[str, str]] = []
    for part in raw.split(","):
        name, sep, limit = part.partition("=")
        if not sep or not name.strip() or not limit.strip():
            raise ConfigurationError(
                f"RAPPORT_RATE_LIMIT_PLANS entries are name=limit (e.g. default=600/minute), "
                f"got {part!r}"
            )
        plans.append((name.strip(), limit.strip()))
    if "default" not in dict(plans):
        raise ConfigurationError("RAPPORT_RATE_LIMIT_PLANS must define a plan named default")
    return tuple(plans)


def _async_driver(url: str) -> str:
    # Operators paste the URL their provider gives; pick the async driver for them.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def _default_state_dir(env: Mapping[str, str]) -> Path:
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "rapport"
    return Path(env.get("HOME") or "~").expanduser() / ".local" / "state" / "rapport"


def _persistent_secret(data_dir: Path, persist: bool = True) -> str:
    # Embedded mode: a secret generated once and kept beside the data, so signed tickets
    # survive a restart without asking the operator to configure anything.
    # Both owner-only, and tightened if an earlier version left them readable by others;
    # without `persist` (rapport doctor) nothing is created.
    path = data_dir / "secret_key"
    if not persist:
        return path.read_text().strip() if path.exists() else ""
    private_files.private_dir(data_dir)
    if path.exists():
        private_files.tighten(path)
        return path.read_text().strip()
    # Written aside, then linked into place: a process starting at the same moment sees
    # no secret or the whole of one, never an empty file; the first link wins.
    aside = data_dir / f".secret_key.{os.getpid()}"
    private_files.write_private(aside, secrets.token_urlsafe(48))
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()
    private_files.tighten(path)
    return path.read_text().strip()
