"""Voice end to end: real Chromium with a fake microphone speaking espeak-ng's voice, the real
page, the real server, real recognition and synthesis on this machine."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.api.test_page import watch
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Server
from tests.helpers import published_interview, sse_events

ANSWER = "yes I would like to answer the question"
WAIT_S = 60.0


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone says, over and over: the answer, then 1.5 s of silence (so
    it also speaks over the interviewer: barge-in)."""
    path = tmp_path_factory.mktemp("voice") / "answer.wav"
    spoken = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", ANSWER], check=True, capture_output=True
    ).stdout
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-af", "apad=pad_dur=1.5",
         "-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le", "-y", str(path)],
        input=spoken, check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
async def talking_browser(microphone: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield launched
        await launched.close()


async def messages(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    got = await client.get(f"/v1/sessions/{session_id}/transcript")
    assert got.status_code == 200, got.text
    found: list[dict[str, Any]] = got.json()["messages"]
    return found


async def eventually(client: httpx.AsyncClient, session_id: str, test: Any) -> list[dict[str, Any]]:
    """The transcript once `test` holds of it, looked at again after each event of the
    session's stream (the conversation moves on only by its events)."""
    if test(rows := await messages(client, session_id)):
        return rows
    events = sse_events(client, f"/v1/sessions/{session_id}/events")
    try:
        async with asyncio.timeout(WAIT_S):
            async for _ in events:
                if test(rows := await messages(client, session_id)):
                    return rows
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    raise AssertionError(f"the session ended first: {rows}")


def heard(message: dict[str, Any]) -> int:
    return len(set(message["content"].lower().split()) & set(ANSWER.split()))


async def test_a_spoken_interview_in_the_browser(
    talking_browser: Browser, server: Server, client: httpx.AsyncClient
) -> None:
    interview = await published_interview(client, modes=["text", "voice"])
    context = await talking_browser.new_context(base_url=server.url, permissions=["microphone"])
    context.set_default_timeout(WAIT_S * 1000)
    page = await context.new_page()
    tab = watch(page)
    await page.goto(f"/i/{interview['share_token']}")
    await page.locator("[data-part=choose-voice]").click()
    await page.locator("[data-part=voice-allow]").click()
    await expect(page.locator("[data-part=voice-live]")).to_be_visible()
    listed = await client.get(f"/v1/interviews/{interview['id']}/sessions")
    session_id = listed.json()["items"][0]["id"]

    # The spoken answer reaches the transcript as text, through the local recognizer (the
    # microphone may start mid-sentence: a later round of it is whole).
    rows = await eventually(
        client,
        session_id,
        lambda rows: any(m["modality"] == "voice" and heard(m) >= 4 for m in rows[1:]),
    )
    answer = next(m for m in rows[1:] if m["modality"] == "voice" and heard(m) >= 4)
    assert answer["role"] == "respondent" and answer["audio"]["duration_ms"] > 2000
    await expect(page.locator("#messages")).to_contain_text(answer["content"])
    # The interviewer's reply arrives as audio (kept once played) and as captions.
    rows = await eventually(
        client,
        session_id,
        lambda rows: any(m["role"] == "interviewer" and m["modality"] == "voice" for m in rows[1:]),
    )
    await expect(page.locator("[data-part=caption-interviewer]")).not_to_be_empty()

    # Switching to text: the composer takes a typed answer; then back to voice.
    await page.locator("[data-part=to-text]").click()
    await expect(page.locator("#composer")).to_be_visible()
    await expect(page.locator("#input")).to_be_enabled()
    await page.locator("#input").fill("Pro")
    await page.locator("#input").press("Enter")
    rows = await eventually(
        client,
        session_id,
        lambda rows: any(m["role"] == "respondent" and m["modality"] == "text" for m in rows),
    )
    await page.locator("[data-part=to-voice]").click()
    await expect(page.locator("[data-part=voice-live]")).to_be_visible()

    # The microphone speaks over the interviewer again and again: a barge-in stops its
    # playback, and the stored turn is what the page says it played.
    rows = await eventually(
        client, session_id, lambda rows: any(m.get("interrupted") for m in rows)
    )
    cut = next(m for m in rows if m.get("interrupted"))
    assert cut["role"] == "interviewer" and cut["modality"] == "voice"
    assert cut["audio"]["duration_ms"] < 10_000
    await context.close()
    tab.assert_clean()
