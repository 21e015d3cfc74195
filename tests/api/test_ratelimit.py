"""Rate limits: per API key plan and per client address, with their headers and 429s."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from api.ratelimit import client_address
from runtime.database import Database
from runtime.settings import Settings
from tests.conftest import Server, new_key, running


@pytest.fixture(scope="module")
async def limited(settings: Settings) -> AsyncIterator[Server]:
    tight = dataclasses.replace(
        settings,
        rate_limit_plans=(("default", "5/minute"), ("tiny", "2/minute")),
        public_rate_limit="3/minute",
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
    # Fresh addresses every run: windows outlive a run, and Redis is shared by both backends.
    me, neighbour = (str(ipaddress.IPv6Address(uuid.uuid4().int)) for _ in range(2))
    async with httpx.AsyncClient(base_url=limited.url) as http:
        url = f"/v1/public/interviews/{uuid.uuid4().hex}"
        for _ in range(3):
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
