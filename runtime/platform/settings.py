"""The deployment's settings, read once from the environment into a frozen object."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.platform import private_files
from runtime.platform.errors import ConfigurationError

# Where transcript PDFs look for their fonts, by file name: fontconfig's default directories
# on Debian (what `fc-list` lists comes from these).
DEFAULT_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("~/.local/share/fonts").expanduser(),
    Path("~/.fonts").expanduser(),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    database_url: str = ""
    redis_url: str | None = None
    redis_max_connections: int = 100
    secret_key: str = ""
    public_base_url: str = ""
    # Limits: documented in docs/limits.md; each is enforced where it applies.
    max_body_bytes: int = 1_048_576
    max_message_chars: int = 8_000
    page_limit_default: int = 20
    page_limit_max: int = 100
    # Live sessions.
    ticket_ttl_seconds: int = 600
    session_idle_timeout_seconds: int = 1800
    turn_lease_ms: int = 5000
    sweep_interval_seconds: float = 1.0
    event_log_ttl_seconds: int = 7 * 24 * 3600
    sse_heartbeat_seconds: float = 15.0
    scripted_delta_delay_ms: int = 15
    turn_max_attempts: int = 3
    # The LLM interviewer (docs/llm.md): any OpenAI-compatible endpoint.
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.4
    llm_max_tokens: int = 400
    llm_first_token_timeout_ms: int = 10_000
    llm_token_timeout_ms: int = 5_000
    llm_turn_deadline_ms: int = 20_000
    run_worker_in_process: bool = True
    # Background jobs (saq).
    worker_concurrency: int = 4
    job_sweep_seconds: int = 10
    shutdown_grace_seconds: int = 10
    cors_origins: tuple[str, ...] = ("*",)
    log_level: str = "INFO"
    # Platform API: rate limits (limits' notation, e.g. "600/minute"), idempotency, webhooks.
    rate_limit_plans: tuple[tuple[str, str], ...] = (("default", "600/minute"),)
    # Respondents behind one address (an office NAT) share the address limit; what each does
    # in their session counts against that session (docs/limits.md has the reasons).
    public_rate_limit: str = "6000/minute"
    session_rate_limit: str = "120/minute"
    session_start_rate_limit: str = "1000/hour"
    trusted_proxy_hops: int = 0
    idempotency_ttl_seconds: int = 24 * 3600
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_max_response_bytes: int = 4096
    webhook_delivery_interval_seconds: float = 1.0
    max_webhooks_per_workspace: int = 20
    # Blob store (audio, PDFs, exports): a local directory, or any S3-compatible bucket.
    blob_store: str = "local"
    s3_endpoint_url: str = ""
    s3_bucket: str = "rapport"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_path_style: bool = False
    s3_public_url: str = ""  # signs download links for browsers (the endpoint: everything else)
    signed_url_ttl_seconds: int = 3600
    max_audio_bytes: int = 200 * 1024 * 1024
    export_page_size: int = 200
    export_page_pause_ms: int = 0
    job_heartbeat_seconds: int = 15
    export_retention_hours: float = 168.0
    export_upkeep_seconds: float = 300.0
    # Prometheus metrics on a port of their own (0: only GET /metrics, with a key).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Erasure and retention (docs/erasure.md).
    retention_interval_seconds: float = 600.0
    # Store timeouts (docs/configuration.md): a store that stalls fails the request fast
    # with 503 unavailable instead of holding it.
    redis_timeout_seconds: float = 2.0
    redis_pool_timeout_seconds: float = 5.0
    db_lock_timeout_ms: int = 3000
    db_statement_timeout_ms: int = 30_000
    db_pool_timeout_seconds: float = 5.0
    sqlite_busy_timeout_ms: int = 5000
    ready_timeout_seconds: float = 2.0
    # Where `rapport serve` records itself while it runs, for commands run elsewhere.
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "rapport")
    pdf_font_dirs: tuple[Path, ...] = DEFAULT_FONT_DIRS

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, persist: bool = True) -> Settings:
        """Build settings from an environment mapping (os.environ by default). `persist`
        False: write nothing (a command that signs nothing need not create the data dir)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("RAPPORT_DATA_DIR") or "./data")
        database_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir}/rapport.db"
        database_url = _async_driver(database_url)
        secret = env.get("RAPPORT_SECRET_KEY") or _persistent_secret(data_dir, persist)
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            redis_max_connections=_int(env, "RAPPORT_REDIS_MAX_CONNECTIONS", 100),
            secret_key=secret,
            public_base_url=env.get("RAPPORT_PUBLIC_URL", "").rstrip("/"),
            max_body_bytes=_int(env, "RAPPORT_MAX_BODY_BYTES", cls.max_body_bytes),
            max_message_chars=_int(env, "RAPPORT_MAX_MESSAGE_CHARS", cls.max_message_chars),
            ticket_ttl_seconds=_int(env, "RAPPORT_TICKET_TTL_SECONDS", cls.ticket_ttl_seconds),
            session_idle_timeout_seconds=_int(
                env, "RAPPORT_SESSION_IDLE_TIMEOUT_SECONDS", cls.session_idle_timeout_seconds
            ),
            turn_lease_ms=_int(env, "RAPPORT_TURN_LEASE_MS", cls.turn_lease_ms),
            sweep_interval_seconds=_float(
                env, "RAPPORT_SWEEP_INTERVAL_SECONDS", cls.sweep_interval_seconds
            ),
            event_log_ttl_seconds=_int(
                env, "RAPPORT_EVENT_LOG_TTL_SECONDS", cls.event_log_ttl_seconds
            ),
            sse_heartbeat_seconds=_float(
                env, "RAPPORT_SSE_HEARTBEAT_SECONDS", cls.sse_heartbeat_seconds
            ),
            scripted_delta_delay_ms=_int(
                env, "RAPPORT_SCRIPTED_DELTA_DELAY_MS", cls.scripted_delta_delay_ms
            ),
            turn_max_attempts=_int(env, "RAPPORT_TURN_MAX_ATTEMPTS", cls.turn_max_attempts),
            llm_base_url=env.get("RAPPORT_LLM_BASE_URL", "").rstrip("/"),
            llm_api_key=env.get("RAPPORT_LLM_API_KEY", ""),
            llm_model=env.get("RAPPORT_LLM_MODEL") or cls.llm_model,
            llm_temperature=_float(env, "RAPPORT_LLM_TEMPERATURE", cls.llm_temperature),
            llm_max_tokens=_int(env, "RAPPORT_LLM_MAX_TOKENS", cls.llm_max_tokens),
            llm_first_token_timeout_ms=_int(
                env, "RAPPORT_LLM_FIRST_TOKEN_TIMEOUT_MS", cls.llm_first_token_timeout_ms
            ),
            llm_token_timeout_ms=_int(
                env, "RAPPORT_LLM_TOKEN_TIMEOUT_MS", cls.llm_token_timeout_ms
            ),
            llm_turn_deadline_ms=_int(
                env, "RAPPORT_LLM_TURN_DEADLINE_MS", cls.llm_turn_deadline_ms
            ),
            shutdown_grace_seconds=_int(env, "RAPPORT_SHUTDOWN_GRACE_SECONDS", 10),
            run_worker_in_process=env.get("RAPPORT_IN_PROCESS_WORKER", "1") != "0",
            worker_concurrency=_int(env, "RAPPORT_WORKER_CONCURRENCY", cls.worker_concurrency),
            job_sweep_seconds=_int(env, "RAPPORT_JOB_SWEEP_SECONDS", cls.job_sweep_seconds),
            log_level=env.get("RAPPORT_LOG_LEVEL", "INFO").upper(),
            blob_store=env.get("RAPPORT_BLOB_STORE", "local"),
            s3_endpoint_url=env.get("RAPPORT_S3_ENDPOINT_URL", ""),
            s3_bucket=env.get("RAPPORT_S3_BUCKET", cls.s3_bucket),
            s3_region=env.get("RAPPORT_S3_REGION", cls.s3_region),
            s3_access_key=env.get("RAPPORT_S3_ACCESS_KEY_ID", ""),
            s3_secret_key=env.get("RAPPORT_S3_SECRET_ACCESS_KEY", ""),
            s3_path_style=env.get("RAPPORT_S3_PATH_STYLE", "0") == "1",
            s3_public_url=env.get("RAPPORT_S3_PUBLIC_URL", "").rstrip("/"),
            signed_url_ttl_seconds=_int(
                env, "RAPPORT_SIGNED_URL_TTL_SECONDS", cls.signed_url_ttl_seconds
            ),
            max_audio_bytes=_int(env, "RAPPORT_MAX_AUDIO_BYTES", cls.max_audio_bytes),
            export_page_size=_int(env, "RAPPORT_EXPORT_PAGE_SIZE", cls.export_page_size),
            export_page_pause_ms=_int(
                env, "RAPPORT_EXPORT_PAGE_PAUSE_MS", cls.export_page_pause_ms
            ),
            job_heartbeat_seconds=_int(
                env, "RAPPORT_JOB_HEARTBEAT_SECONDS", cls.job_heartbeat_seconds
            ),
            export_retention_hours=_float(
                env, "RAPPORT_EXPORT_RETENTION_HOURS", cls.export_retention_hours
            ),
            export_upkeep_seconds=_float(
                env, "RAPPORT_EXPORT_UPKEEP_SECONDS", cls.export_upkeep_seconds
            ),
            metrics_port=_int(env, "RAPPORT_METRICS_PORT", cls.metrics_port),
            metrics_host=env.get("RAPPORT_METRICS_HOST") or cls.metrics_host,
            retention_interval_seconds=_float(
                env, "RAPPORT_RETENTION_INTERVAL_SECONDS", cls.retention_interval_seconds
            ),
            cors_origins=tuple(
                o.strip() for o in env.get("RAPPORT_CORS_ORIGINS", "*").split(",") if o.strip()
            ),
            rate_limit_plans=_plans(env.get("RAPPORT_RATE_LIMIT_PLANS", "default=600/minute")),
            public_rate_limit=env.get("RAPPORT_PUBLIC_RATE_LIMIT", cls.public_rate_limit),
            session_rate_limit=env.get("RAPPORT_SESSION_RATE_LIMIT", cls.session_rate_limit),
            session_start_rate_limit=env.get(
                "RAPPORT_SESSION_START_RATE_LIMIT", cls.session_start_rate_limit
            ),
            trusted_proxy_hops=_int(env, "RAPPORT_TRUSTED_PROXY_HOPS", 0),
            idempotency_ttl_seconds=_int(
                env, "RAPPORT_IDEMPOTENCY_TTL_SECONDS", cls.idempotency_ttl_seconds
            ),
            webhook_allow_private=env.get("RAPPORT_WEBHOOK_ALLOW_PRIVATE", "0") == "1",
            webhook_timeout_seconds=_float(
                env, "RAPPORT_WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout_seconds
            ),
            webhook_max_response_bytes=_int(
                env, "RAPPORT_WEBHOOK_MAX_RESPONSE_BYTES", cls.webhook_max_response_bytes
            ),
            webhook_delivery_interval_seconds=_float(
                env,
                "RAPPORT_WEBHOOK_DELIVERY_INTERVAL_SECONDS",
                cls.webhook_delivery_interval_seconds,
            ),
            max_webhooks_per_workspace=_int(
                env, "RAPPORT_MAX_WEBHOOKS_PER_WORKSPACE", cls.max_webhooks_per_workspace
            ),
            redis_timeout_seconds=_float(
                env, "RAPPORT_REDIS_TIMEOUT_SECONDS", cls.redis_timeout_seconds
            ),
            redis_pool_timeout_seconds=_float(
                env, "RAPPORT_REDIS_POOL_TIMEOUT_SECONDS", cls.redis_pool_timeout_seconds
            ),
            db_lock_timeout_ms=_int(env, "RAPPORT_DB_LOCK_TIMEOUT_MS", cls.db_lock_timeout_ms),
            db_statement_timeout_ms=_int(
                env, "RAPPORT_DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms
            ),
            db_pool_timeout_seconds=_float(
                env, "RAPPORT_DB_POOL_TIMEOUT_SECONDS", cls.db_pool_timeout_seconds
            ),
            sqlite_busy_timeout_ms=_int(
                env, "RAPPORT_SQLITE_BUSY_TIMEOUT_MS", cls.sqlite_busy_timeout_ms
            ),
            ready_timeout_seconds=_float(
                env, "RAPPORT_READY_TIMEOUT_SECONDS", cls.ready_timeout_seconds
            ),
            state_dir=_state_dir(env),
            pdf_font_dirs=_paths(env, "RAPPORT_PDF_FONT_DIRS", DEFAULT_FONT_DIRS),
        )


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


def _paths(env: Mapping[str, str], name: str, default: tuple[Path, ...]) -> tuple[Path, ...]:
    """A list of directories separated by `:` (os.pathsep), as PATH is."""
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip())


def _state_dir(env: Mapping[str, str]) -> Path:
    if env.get("RAPPORT_STATE_DIR"):
        return Path(env["RAPPORT_STATE_DIR"]).expanduser()
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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
