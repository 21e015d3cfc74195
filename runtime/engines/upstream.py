"""Whether the LLM interviewer's upstream is configured and answers, probed cheaply and cached."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from runtime.platform.settings import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
PROBE_TIMEOUT_SECONDS = 2.0
# A good answer is trusted for a minute; a bad one is asked again soon, so that an upstream
# started after a refused publish is seen within seconds.
OK_TTL_SECONDS = 60.0
FAILED_TTL_SECONDS = 5.0
SETUP = (
    "set RAPPORT_LLM_BASE_URL to an OpenAI-compatible endpoint (vLLM, Ollama: docs/llm.md) "
    "or RAPPORT_LLM_API_KEY for OpenAI, then restart"
)

State = Literal["ok", "not_configured", "unreachable"]


@dataclass(frozen=True)
class UpstreamStatus:
    state: State
    base_url: str
    detail: str  # what was found, for people: never the key

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def problem(self) -> str:
        """Why `engine: "llm"` cannot run here, and what fixes it."""
        if self.state == "not_configured":
            return f"the LLM interviewer is not configured: {SETUP}"
        return f"the LLM upstream at {self.base_url} does not answer ({self.detail})"


def summary(status: UpstreamStatus | None) -> str:
    """One line for /readyz: `ok`, `not configured: …`, `unreachable: …` or `not checked yet`."""
    if status is None:
        return "not checked yet"
    if status.ok:
        return "ok"
    if status.state == "not_configured":
        return f"not configured: {SETUP}"
    return f"unreachable: {status.base_url} ({status.detail})"


def configured(settings: Settings) -> bool:
    """A base URL (a local server needs no key) or a key (for OpenAI itself)."""
    return bool(settings.llm_base_url or settings.llm_api_key)


class UpstreamProbe:
    """GET {base}/models with a short timeout, one probe at a time, the answer cached."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.configured = configured(settings)
        self.base_url = settings.llm_base_url or OPENAI_BASE_URL
        self._headers = (
            {"authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
        )
        self._http = http
        self._owns_http = http is None
        self._last: UpstreamStatus | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[UpstreamStatus] | None = None

    async def status(self) -> UpstreamStatus:
        """The upstream's status now (a cached answer while it is fresh)."""
        if not self.configured:
            return UpstreamStatus("not_configured", self.base_url, "not configured")
        async with self._lock:
            if self._fresh():
                assert self._last is not None
                return self._last
            self._last = await self._probe()
            self._checked_at = time.monotonic()
            return self._last

    def peek(self) -> UpstreamStatus | None:
        """The last answer at once, never waiting (for /readyz); a stale one is refreshed in
        the background for the next caller. None before the first probe has answered."""
        if not self.configured:
            return UpstreamStatus("not_configured", self.base_url, "not configured")
        if not self._fresh() and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self.status())
        return self._last

    def _fresh(self) -> bool:
        if self._last is None:
            return False
        ttl = OK_TTL_SECONDS if self._last.ok else FAILED_TTL_SECONDS
        return time.monotonic() - self._checked_at < ttl

    async def _probe(self) -> UpstreamStatus:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS)
        url = f"{self.base_url}/models"
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                answer = await self._http.get(url, headers=self._headers)
        except TimeoutError:
            return self._down(f"no answer within {PROBE_TIMEOUT_SECONDS:g} s")
        except httpx.HTTPError as exc:
            return self._down(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if answer.is_success:
            return UpstreamStatus("ok", self.base_url, f"GET /models answered {answer.status_code}")
        if answer.status_code in (401, 403):
            return self._down(f"it refused the API key (HTTP {answer.status_code})")
        if answer.status_code == 404:
            return self._down("HTTP 404 for /models: does the base URL end in /v1?")
        return self._down(f"HTTP {answer.status_code} for /models")

    def _down(self, detail: str) -> UpstreamStatus:
        return UpstreamStatus("unreachable", self.base_url, detail)

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        if self._owns_http and self._http is not None:
            await self._http.aclose()
