"""Fixtures that start real services: Redis, SQLite and PostgreSQL, and a uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from playwright.async_api import Browser, async_playwright

from api.app import create_app
from runtime.access import keys
from runtime.platform.settings import Settings
from runtime.stores import migrate
from runtime.stores.database import Database
from tests.upstream import Upstream
from workers import sweeper, webhooks

UNLIMITED = "1000000/minute"
CHROMIUM = os.environ.get("RAPPORT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

POSTGRES_URL = os.environ.get("RAPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS", "redis://127.0.0.1:6379/15")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_postgres(url: str) -> None:
    import asyncpg  # local: only the PostgreSQL backend needs it

    async def _reset() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(_reset())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A `one_backend` test exercises something the database does not take part in (rate
    # limits in Redis, the interviewer's rules): its PostgreSQL run would repeat the SQLite
    # one, at a minute or more of the suite's time.
    def repeated(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        return (
            item.get_closest_marker("one_backend") is not None
            and callspec is not None
            and callspec.params.get("backend_url") == "postgres"
        )

    dropped = [item for item in items if repeated(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not repeated(item)]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "rapport.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        reset_postgres(POSTGRES_URL)
        url = "postgresql+asyncpg://" + POSTGRES_URL.split("://", 1)[1]
    migrate.upgrade(url)
    return url


# The LLM engine's timings in tests: short, so failure modes resolve in a second or two,
# yet long enough that a busy machine does not time out a healthy upstream.
LLM_TEST_TIMINGS = {
    "llm_model": "mock",
    "llm_first_token_timeout_ms": 1500,
    "llm_token_timeout_ms": 1000,
    "llm_turn_deadline_ms": 3000,
}


@pytest.fixture(scope="session")
async def upstream() -> AsyncIterator[Upstream]:
    """The OpenAI-compatible test server every test settings object points the engine at."""
    server = Upstream(free_port())
    await server.start()
    yield server
    await server.stop()


def make_settings(database_url: str, redis_url: str, data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret-" + uuid.uuid4().hex,
        scripted_delta_delay_ms=3,
        sweep_interval_seconds=0.2,
        turn_lease_ms=1500,
        sse_heartbeat_seconds=1.0,
        # Every test client is 127.0.0.1: the address limit is tested with its own settings.
        public_rate_limit=UNLIMITED,
        session_rate_limit=UNLIMITED,
        session_start_rate_limit=UNLIMITED,
        rate_limit_plans=(("default", "600/minute"), ("unlimited", UNLIMITED)),
        # Tests send webhooks to receivers on 127.0.0.1, and drive delivery themselves: the
        # shared server's delivery pass runs once at start, then sleeps.
        webhook_allow_private=True,
        webhook_timeout_seconds=2.0,
        webhook_delivery_interval_seconds=3600.0,
        max_audio_bytes=2_000_000,
        # Jobs are enqueued by the test server: a killed worker's job is retried this soon.
        job_heartbeat_seconds=2,
        # A voice session's final pass runs as soon as it ends, and retries at once.
        voice_final_delay_seconds=0.0,
        voice_final_retry_delay_seconds=0.1,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="session")
def settings(
    backend_url: str,
    redis_url: str,
    upstream: Upstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return make_settings(
        backend_url,
        redis_url,
        tmp_path_factory.mktemp("data"),
        llm_base_url=upstream.base_url,
        **LLM_TEST_TIMINGS,
    )


@pytest.fixture(scope="session")
def rgw() -> Iterator[Any]:
    """A real Ceph RGW (S3) for the whole run, started on first use."""
    from tests.s3server import CephRgw

    server = CephRgw().start()
    yield server
    server.stop()


def s3_settings(settings: Settings, rgw: Any, bucket: str) -> Settings:
    from tests.s3server import ACCESS_KEY, SECRET_KEY

    return dataclasses.replace(
        settings,
        blob_store="s3",
        s3_endpoint_url=rgw.endpoint,
        s3_bucket=bucket,
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        s3_path_style=True,
    )


@dataclasses.dataclass
class Server:
    url: str
    settings: Settings
    app: Any

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[Server]:
    async with running(settings) as started:
        yield started


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Server]:
    """The app on a real uvicorn server in this event loop, with its in-process workers."""
    app = create_app(settings, on_start=[sweeper.start_in_process, webhooks.start_in_process])
    async with serving(app, lifespan="on") as url:
        yield Server(url, settings, app)


@contextlib.asynccontextmanager
async def serving(app: Any, lifespan: str) -> AsyncIterator[str]:
    """Any ASGI app on a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        timeout_graceful_shutdown=2,
        # As `rapport serve`: X-Forwarded-For is ours to read (RAPPORT_TRUSTED_PROXY_HOPS).
        proxy_headers=False,
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        await task


@pytest.fixture(autouse=True)
def _reap_processes() -> Iterator[None]:
    """No `rapport` process a test started outlives it, whatever the test's outcome."""
    yield
    from tests.processes import reap_all  # local: tests.processes imports this module

    reap_all()


@pytest.fixture
def node_env(settings: Settings) -> dict[str, str]:
    """The environment of a `rapport serve` process on the test stores."""
    from tests.processes import node_env as env  # local: tests.processes imports this module

    return env(settings, RAPPORT_SCRIPTED_DELTA_DELAY_MS="0")


@pytest.fixture
async def job_worker(server: Server) -> AsyncIterator[None]:
    """A job worker on the test server's services, for the length of one test."""
    from workers import queue

    stop = await queue.start_in_process(server.app.state.services)
    yield
    await stop()


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    yield database
    await database.close()


async def new_key(
    db: Database,
    workspace: str | None = None,
    scopes: tuple[str, ...] = keys.ALL_SCOPES,
    plan: str = keys.DEFAULT_PLAN,
) -> str:
    workspace_id = await keys.ensure_workspace(db, workspace or f"ws-{uuid.uuid4().hex[:8]}")
    return (await keys.create_key(db, workspace_id, "test", scopes, plan)).plaintext


@pytest.fixture
async def api_key(db: Database) -> str:
    return await new_key(db)


@pytest.fixture
async def client(server: Server, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {api_key}"}, timeout=20
    ) as http:
        yield http


@pytest.fixture
async def anon(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        yield http


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """The system Chromium through Playwright (no `playwright install`)."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before the browser starts)
        # A missing browser is a broken machine, not a reason to pass: .ci/run installs it.
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
