"""Rate limits: per API key plan and per client address, with their headers and 429s."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis
import websockets

from api.ratelimit import client_address
from runtime.platform.settings import Settings
from runtime.stores import redis_keys
from runtime.stores.database import Database
from tests.conftest import UNLIMITED, Server, new_key, running
from tests.helpers import Respondent, next_turn, published_interview, sse_events, ws_frames
from tests.processes import ServeProcess, serve_nodes

PUBLIC, PER_SESSION, STARTS = 6, 4, 3


def fresh_address() -> str:
    # Fresh addresses every run: windows outlive a run, and Redis is shared by both backends.
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


@pytest.fixture(scope="module")
async def limited(settings: Settings) -> AsyncIterator[Server]:
    tight = dataclasses.replace(
        settings,
        rate_limit_plans=(("default", "5/minute"), ("tiny", "2/minute"), ("unlimited", UNLIMITED)),
        public_rate_limit=f"{PUBLIC}/minute",
        session_rate_limit=f"{PER_SESSION}/minute",
        session_start_rate_limit=f"{STARTS}/minute",
        trusted_proxy_hops=1,
    )
    async with running(tight) as started:
        yield started


def _quota(response: httpx.Response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["x-ratelimit-limit"]), int(h["x-ratelimit-remaining"]), int(h["x-ratelimit-reset"])


@pytest.mark.parametrize(("plan", "allowed"), [("default", 5), ("tiny", 2)])
async def test_each_key_has_its_plans_limit(
    limited: Server, db: Database, plan: str, allowed: int
) -> None:
    key = await new_key(db, plan=plan)
    async with httpx.AsyncClient(
        base_url=limited.url, headers={"authorization": f"Bearer {key}"}
    ) as http:
        for n in range(allowed):
            ok = await http.get("/v1/interviews")
            assert ok.status_code == 200, ok.text
            assert _quota(ok)[:2] == (allowed, allowed - n - 1)
        refused = await http.get("/v1/interviews")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert _quota(refused)[:2] == (allowed, 0)
        # One window, one reset time (Redis reports its TTL in whole seconds).
        assert abs(_quota(refused)[2] - _quota(ok)[2]) <= 1
    other = await new_key(db, plan=plan)
    async with httpx.AsyncClient(base_url=limited.url) as http:
        fresh = await http.get("/v1/interviews", headers={"authorization": f"Bearer {other}"})
        assert fresh.status_code == 200, "the limit is per key"


async def test_public_endpoints_are_limited_per_client_address(limited: Server) -> None:
    me, neighbour = fresh_address(), fresh_address()
    async with httpx.AsyncClient(base_url=limited.url) as http:
        url = f"/v1/public/interviews/{uuid.uuid4().hex}"
        for _ in range(PUBLIC):
            seen = await http.get(url, headers={"x-forwarded-for": f"203.0.113.9, {me}"})
            assert seen.status_code == 404 and "x-ratelimit-limit" in seen.headers
        refused = await http.get(url, headers={"x-forwarded-for": me})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        other = await http.get(url, headers={"x-forwarded-for": f"{me}, {neighbour}"})
        assert other.status_code == 404, "another address has its own window"
        health = await http.get("/healthz", headers={"x-forwarded-for": me})
        assert health.status_code == 200 and "x-ratelimit-limit" not in health.headers


def test_forwarded_addresses_count_only_behind_trusted_proxies() -> None:
    scope = {
        "type": "http",
        "client": ("192.0.2.1", 5000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7, 10.0.0.2")],
    }
    assert client_address(scope, 0) == "192.0.2.1", "a client can write any X-Forwarded-For"
    assert client_address(scope, 1) == "10.0.0.2"
    assert client_address(scope, 2) == "198.51.100.7"
    assert client_address(scope, 9) == "6.6.6.6"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer rk_live_" + "x" * 32, "Bearer st_forged", "Bearer nonsense"],
)
async def test_an_unverified_credential_counts_against_the_address(
    limited: Server, authorization: str
) -> None:
    # Only a key (or a session token) that was checked moves a request to its own limit: a
    # made-up one, which public endpoints never look at, still counts against the address.
    me = fresh_address()
    headers = {"x-forwarded-for": me, "authorization": authorization}
    async with httpx.AsyncClient(base_url=limited.url, headers=headers) as http:
        url = f"/v1/public/interviews/{uuid.uuid4().hex}"
        for n in range(PUBLIC):
            seen = await http.get(url)
            assert seen.status_code == 404, seen.text
            assert _quota(seen)[:2] == (PUBLIC, PUBLIC - n - 1)
        refused = await http.get(url)
        assert refused.status_code == 429, "a fake key must not skip the address limit"
        # A failed key check on the researcher API counts against the address too.
        guessed = await http.get("/v1/interviews")
        assert guessed.status_code == 429


async def test_a_verified_key_counts_against_its_own_limit_everywhere(
    limited: Server, db: Database
) -> None:
    key = await new_key(db, plan="tiny")
    headers = {"authorization": f"Bearer {key}", "x-forwarded-for": fresh_address()}
    async with httpx.AsyncClient(base_url=limited.url, headers=headers) as http:
        url = f"/v1/public/interviews/{uuid.uuid4().hex}"
        first = await http.get(url)
        assert first.status_code == 404 and _quota(first)[:2] == (2, 1)
        assert (await http.get("/v1/interviews")).status_code == 200
        assert (await http.get(url)).status_code == 429, "a valid key's plan, not a free pass"


async def _respondents(
    http: httpx.AsyncClient, db: Database, count: int
) -> tuple[str, list[dict[str, str]]]:
    """A published interview (made with a key of its own) and `count` sessions started on it."""
    key = await new_key(db, plan="unlimited")
    async with httpx.AsyncClient(
        base_url=str(http.base_url), headers={"authorization": f"Bearer {key}"}
    ) as researcher:
        interview = await published_interview(researcher)
    sessions = []
    for _ in range(count):
        started = await http.post(f"/v1/public/interviews/{interview['share_token']}/sessions")
        assert started.status_code == 201, started.text
        sessions.append(started.json())
    return interview["share_token"], sessions


async def test_one_session_hammering_is_limited_alone(limited: Server, db: Database) -> None:
    headers = {"x-forwarded-for": fresh_address()}
    async with httpx.AsyncClient(base_url=limited.url, headers=headers, timeout=20) as http:
        _, (noisy, quiet) = await _respondents(http, db, 2)

        def auth(session: dict[str, str]) -> dict[str, str]:
            return {"authorization": f"Bearer {session['session_token']}"}

        tickets = f"/v1/sessions/{noisy['session_id']}/tickets"
        for n in range(PER_SESSION):
            fresh = await http.post(tickets, headers=auth(noisy))
            assert fresh.status_code == 200, fresh.text
            assert _quota(fresh)[:2] == (PER_SESSION, PER_SESSION - n - 1)
        assert (await http.post(tickets, headers=auth(noisy))).status_code == 429
        said = await http.post(
            f"/v1/sessions/{noisy['session_id']}/messages",
            json={"content": "Still here", "client_message_id": "m1"},
            headers=auth(noisy),
        )
        assert said.status_code == 429 and int(said.headers["retry-after"]) >= 1
        # An embedded (cross-origin) page can read the refusal and its Retry-After.
        embedded = await http.post(
            tickets, headers=auth(noisy) | {"origin": "https://customer.example"}
        )
        assert embedded.status_code == 429
        assert embedded.headers["access-control-allow-origin"] == "*"
        assert "retry-after" in embedded.headers["access-control-expose-headers"].lower()
        # A stream opened with the session's ticket counts against that session too.
        async with http.stream("GET", noisy["events_url"]) as stream:
            assert stream.status_code == 429
        async with websockets.connect(noisy["ws_url"], additional_headers=headers) as ws:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429

        # Another session behind the same address is untouched; its handshake shows its quota.
        async with websockets.connect(quiet["ws_url"], additional_headers=headers) as ws:
            assert ws.response is not None
            assert ws.response.headers["x-ratelimit-limit"] == str(PER_SESSION)
            # Its welcome turn finishes first (an answer during it is a 409, not a limit).
            async for event in ws_frames(ws):
                if event.event == "turn.completed":
                    break
        other = await http.post(
            f"/v1/sessions/{quiet['session_id']}/messages",
            json={"content": "We use it for planning.", "client_message_id": "q1"},
            headers=auth(quiet),
        )
        assert other.status_code == 202, other.text
        assert _quota(other)[:2] == (PER_SESSION, PER_SESSION - 2)


async def test_session_starts_are_limited_per_address(limited: Server, db: Database) -> None:
    me = {"x-forwarded-for": fresh_address()}
    async with httpx.AsyncClient(base_url=limited.url, headers=me) as http:
        share_token, sessions = await _respondents(http, db, STARTS)
        flood = await http.post(f"/v1/public/interviews/{share_token}/sessions")
        assert flood.status_code == 429, flood.text
        assert _quota(flood)[:2] == (STARTS, 0)
        # Resuming is not a new start: it counts against the session being resumed.
        resumed = await http.post(
            f"/v1/public/interviews/{share_token}/sessions",
            json={"session_token": sessions[0]["session_token"]},
        )
        assert resumed.status_code == 200, resumed.text
        assert _quota(resumed)[0] == PER_SESSION
        elsewhere = await http.post(
            f"/v1/public/interviews/{share_token}/sessions",
            headers={"x-forwarded-for": fresh_address()},
        )
        assert elsewhere.status_code == 201, "another address has its own start window"


def forget_local_windows(redis_url: str) -> None:
    """Every test client is 127.0.0.1: start its windows afresh (they outlive a run, and
    both backends' runs share one Redis)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for name in client.scan_iter(f"{redis_keys.RATE_LIMIT_PREFIX}*/127.0.0.1/*"):
            client.delete(name)
    finally:
        client.close()


@pytest.fixture
async def at_defaults(node_env: dict[str, str], tmp_path: Path) -> AsyncIterator[ServeProcess]:
    """A `rapport serve` with the real default limits (the shared test server is unlimited),
    in a process of its own so that the crowd's client and the server each have a core."""
    defaults = Settings()
    forget_local_windows(node_env["REDIS_URL"])
    env = {
        **node_env,
        "RAPPORT_PUBLIC_RATE_LIMIT": defaults.public_rate_limit,
        "RAPPORT_SESSION_RATE_LIMIT": defaults.session_rate_limit,
        "RAPPORT_SESSION_START_RATE_LIMIT": defaults.session_start_rate_limit,
        "RAPPORT_RATE_LIMIT_PLANS": f"default=600/minute,unlimited={UNLIMITED}",
    }
    async with serve_nodes(env, tmp_path, 1) as (node,):
        yield node


@pytest.mark.one_backend
async def test_five_hundred_respondents_behind_one_address_pass_the_defaults(
    at_defaults: ServeProcess, db: Database
) -> None:
    # An all-hands survey: 500 colleagues behind one office NAT (here 127.0.0.1) open the
    # page, start a session, watch the first turn, answer it and end, all within a minute.
    crowd = 500
    # No connection is reused: on a loaded machine a server may close an idle keep-alive
    # connection just as a request goes down it (HTTP's own race, which even a 1 s client
    # expiry hit), and this test is about the limits, not about retrying on that race.
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=at_defaults.url, timeout=60, limits=limits) as http:
        share_token, _ = await _respondents(http, db, 0)
        gate = asyncio.Semaphore(50)
        refused: list[str] = []

        def check(response: httpx.Response) -> None:
            if response.status_code == 429:
                refused.append(f"{response.request.method} {response.url.path}")
            assert "x-ratelimit-limit" in response.headers, response.url.path

        async def respondent() -> None:
            async with gate:
                for path in (
                    f"/i/{share_token}",
                    "/static/respondent.css",
                    "/static/respondent.js",
                    "/static/respondent/conversation.js",
                    "/static/respondent/transport.js",
                    "/static/respondent/view.js",
                    f"/v1/public/interviews/{share_token}",
                    "/favicon.ico",
                ):
                    check(await http.get(path))
                started = await http.post(f"/v1/public/interviews/{share_token}/sessions")
                check(started)
                assert started.status_code == 201, started.text
                session = started.json()
                events = sse_events(http, session["events_url"])
                try:
                    await next_turn(events)
                finally:
                    await events.aclose()
                who = Respondent(http, session)
                said = await who.say("We plan our sprints with it.")
                check(said)
                assert said.status_code == 202, said.text
                # They leave (and leave no idle session behind for other tests' sweeps).
                ended = await http.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
                check(ended)
                assert ended.status_code == 200, ended.text

        await asyncio.gather(*(respondent() for _ in range(crowd)))
    assert refused == []


async def test_rapport_serve_ignores_forwarded_headers_unless_told_to_trust_a_proxy(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    # RAPPORT_TRUSTED_PROXY_HOPS=0 (the default): X-Forwarded-For is the client's own
    # writing, so every spoofed address shares 127.0.0.1's window; X-Forwarded-Proto does
    # not turn the links into https ones (RAPPORT_PUBLIC_URL sets the public base).
    forget_local_windows(node_env["REDIS_URL"])
    env = {**node_env, "RAPPORT_PUBLIC_RATE_LIMIT": "3/minute"}
    async with serve_nodes(env, tmp_path, 1) as (node,):
        async with httpx.AsyncClient(base_url=node.url) as http:
            key = await new_key(db)
            researcher = {"authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=node.url, headers=researcher) as client:
                interview = await published_interview(client)
            started = await http.post(
                f"/v1/public/interviews/{interview['share_token']}/sessions",
                headers={"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.1"},
            )
            assert started.status_code == 201, started.text
            assert started.json()["events_url"].startswith(f"{node.url}/")
            assert started.json()["ws_url"].startswith(node.url.replace("http", "ws") + "/")
            url = f"/v1/public/interviews/{interview['share_token']}"
            for spoofed in ("203.0.113.2", "203.0.113.3"):
                seen = await http.get(url, headers={"x-forwarded-for": spoofed})
                assert seen.status_code == 200, seen.text
            refused = await http.get(url, headers={"x-forwarded-for": "203.0.113.4"})
            assert refused.status_code == 429, "a spoofed X-Forwarded-For got a fresh window"
