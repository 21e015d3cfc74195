"""The /docs page in a real headless Chromium: it renders every operation, under its own CSP."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from api.middleware import DOCS_CSP
from tests.conftest import Server


async def test_docs_page_renders_every_operation_without_a_cdn(
    browser: Browser, server: Server, anon: httpx.AsyncClient
) -> None:
    spec = (await anon.get("/v1/openapi.json")).json()
    operation_ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    context = await browser.new_context(base_url=server.url)
    page = await context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error"
            and ("Content Security Policy" in msg.text or "Refused" in msg.text)
            else None
        ),
    )
    page.on(
        "request",
        lambda req: (
            foreign.append(req.url) if not req.url.startswith((server.url, "data:")) else None
        ),
    )
    try:
        response = await page.goto("/docs")
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == DOCS_CSP
        await expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
        assert await page.locator(".opblock").count() == len(operation_ids)
        await expect(page.locator(".info .title")).to_contain_text("Rapport API")
        rendered = await page.locator(".opblock-summary-path").all_inner_texts()
        assert "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver" in [
            p.replace("\u200b", "") for p in rendered
        ]
    finally:
        await context.close()
    assert problems == []
    assert foreign == [], "everything comes from this server"
