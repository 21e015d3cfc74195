"""The respondent page's voice mode in a real headless Chromium with a fake microphone.

The page's half of the voice protocol (docs/voice.md) against a stand-in for the server's
half: the session WebSocket is routed through the test, which forwards the conversation's
events from the real server and answers the voice frames itself (the server's voice half is
tested on its own; the end-to-end test joins the two). The microphone, the AudioWorklets,
the resampling and the CSP are the browser's own.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    WebSocketRoute,
    async_playwright,
    expect,
)

from tests.api.test_page import OPENING, Tab, watch
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Server
from tests.helpers import published_interview

FAKE_MICROPHONE = ["--use-fake-device-for-media-stream"]  # allowed or not: the context says
VOICE_FRAMES = {"voice.start", "voice.end_turn", "voice.stop", "playback"}
WAIT_S = 10


@pytest.fixture(scope="module")
async def media_browser() -> AsyncIterator[Browser]:
    """Chromium whose microphone is a fake device (a beep), allowed or refused per context."""
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MICROPHONE]
        )
        yield launched
        await launched.close()


class VoiceServer:
    """The server's voice half as the page sees it: records what the page sends on the
    session socket (voice frames, binary audio) and lets the test answer; every other frame
    goes through to the real server, and the server's events come through to the page."""

    def __init__(self) -> None:
        self.route: WebSocketRoute | None = None
        self.sockets = 0
        self.frames: list[dict[str, Any]] = []
        self.audio: list[int] = []  # the size of every binary frame
        self.changed = asyncio.Event()

    async def handle(self, ws: WebSocketRoute) -> None:
        self.route = ws
        self.sockets += 1
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, bytes):
                self.audio.append(len(message))
            elif json.loads(message).get("type") in VOICE_FRAMES:
                self.frames.append(json.loads(message))
            else:
                server.send(message)
            self.changed.set()

        ws.on_message(from_page)

    def send(self, frame: dict[str, Any] | bytes) -> None:
        assert self.route is not None, "the page opened no socket"
        self.route.send(frame if isinstance(frame, bytes) else json.dumps(frame))

    async def until(self, done: Any) -> Any:
        """Waits (for what the page sends, never a fixed time) until `done()` is truthy."""
        deadline = time.monotonic() + WAIT_S
        while not (result := done()):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
        return result

    async def next(self, kind: str, after: int = 0, **match: Any) -> dict[str, Any]:
        """The first frame of `kind` (with `match`'s values) from index `after` on."""

        def found() -> dict[str, Any] | None:
            for frame in self.frames[after:]:
                if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame
            return None

        frame: dict[str, Any] = await self.until(found)
        return frame


def tone(ms: int, rate: int = 24000) -> bytes:
    """A 440 Hz tone as 16-bit little-endian PCM: what the interviewer 'says'."""
    count = rate * ms // 1000
    return struct.pack(
        f"<{count}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(count))
    )


def speak(voice: VoiceServer, turn_id: str, ms: int) -> None:
    """One interviewer turn's audio, the way the server sends it: announced, in chunks."""
    voice.send({"type": "audio.started", "turn_id": turn_id, "sample_rate": 24000, "kind": "turn"})
    pcm = tone(ms)
    for at in range(0, len(pcm), 4800):  # 100 ms a frame
        voice.send(pcm[at : at + 4800])


async def with_modes(page: Page, modes: list[str]) -> None:
    """The public interview as it will come with voice on (the server adds `modes`)."""

    async def add_modes(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        await route.fulfill(response=response, json={**body, "modes": modes})

    await page.route("**/v1/public/interviews/*", add_modes)


async def new_page(
    browser: Browser, server: Server, microphone: bool
) -> tuple[BrowserContext, Page, Tab]:
    context = await browser.new_context(
        base_url=server.url,
        viewport={"width": 390, "height": 800},
        permissions=["microphone"] if microphone else [],
    )
    context.set_default_timeout(WAIT_S * 1000)
    page = await context.new_page()
    return context, page, watch(page)


async def test_talking_listening_speaking_barge_in_and_switching(
    media_browser: Browser, server: Server, client: httpx.AsyncClient
) -> None:
    context, page, tab = await new_page(media_browser, server, microphone=True)
    voice = VoiceServer()
    await page.route_web_socket("**/v1/sessions/*/ws*", voice.handle)
    interview = await published_interview(client)
    await with_modes(page, ["text", "voice"])
    await page.goto(f"/i/{interview['share_token']}")
    status = page.locator("[data-part=voice-status]")
    talk = page.locator("[data-part=talk]")

    # Both modes: a choice first; talking explains the microphone before the browser asks.
    await expect(page.locator("[data-part=voice-choice]")).to_be_visible()
    await expect(page.locator("#composer")).to_be_hidden()
    await page.locator("[data-part=choose-voice]").click()
    await expect(page.locator("[data-part=voice-permission]")).to_be_visible()
    await expect(page.locator("[data-part=voice-explain]")).to_contain_text("needs your microphone")
    await page.locator("[data-part=voice-allow]").click()

    start = await voice.next("voice.start")
    assert start == {
        "type": "voice.start",
        "input": {"sample_rate": 16000, "encoding": "pcm_s16le", "frame_ms": 20},
        "talk": "open",
    }
    await expect(status).to_have_text("Connecting…")
    await expect(talk).to_be_disabled()
    assert voice.audio == [], "no audio before voice.ready"
    voice.send(
        {
            "type": "voice.ready",
            "input": start["input"],
            "output": {"sample_rate": 24000, "encoding": "pcm_s16le", "channels": 1},
            "eagerness": "normal",
            "limits": {"frame_bytes": 640, "max_utterance_ms": 60000},
        }
    )
    await expect(status).to_have_text("Listening…")
    await expect(page.locator("[data-part=caption-interviewer]")).to_have_text(OPENING)
    await expect(talk).to_have_attribute("aria-pressed", "true")
    await expect(talk).to_be_focused()  # the control that had focus went away: the talk one
    # The fake microphone's beep, resampled from the context's rate: 20 ms frames of 640 bytes.
    await voice.until(lambda: len(voice.audio) >= 25)
    assert set(voice.audio) == {640}
    # The level meter moves with the beep (the fake device beeps once a second).
    await page.wait_for_function(
        "() => Number(getComputedStyle(document.querySelector('[data-part=voice-level]'))"
        ".getPropertyValue('--level')) > 0.3"
    )

    voice.send({"type": "speech.started", "at_ms": 300})
    await expect(status).to_have_text("Listening — you're speaking")
    await expect(talk).to_have_attribute("data-hearing", "true")
    voice.send({"type": "transcript.partial", "text": "We plan every sprint"})
    await expect(page.locator("[data-part=caption-respondent]")).to_have_text(
        "We plan every sprint"
    )

    # The toggle: off ends the turn and stops the frames; holding Space talks again.
    await talk.click()
    await expect(talk).to_have_attribute("aria-pressed", "false")
    await voice.next("voice.end_turn")
    await expect(status).to_contain_text("Microphone paused")
    await page.locator("h1").click()  # focus off the controls: Space is push-to-talk anywhere
    before = len(voice.frames)
    await page.keyboard.down("Space")
    await expect(talk).to_have_attribute("aria-pressed", "true")
    sent = len(voice.audio)
    await voice.until(lambda: len(voice.audio) >= sent + 5)
    await page.keyboard.up("Space")
    await expect(talk).to_have_attribute("aria-pressed", "false")
    await voice.next("voice.end_turn", after=before)
    # Held on the talk control itself: the same, and the release does not also toggle it.
    await talk.focus()
    before = len(voice.frames)
    await page.keyboard.down("Space")
    await expect(talk).to_have_attribute("aria-pressed", "true")
    await page.keyboard.up("Space")
    await voice.next("voice.end_turn", after=before)
    await expect(talk).to_have_attribute("aria-pressed", "false")
    await talk.click()
    await expect(talk).to_have_attribute("aria-pressed", "true")

    # The turn as stored (what the server does with a transcript), then the reply aloud.
    token = json.loads(
        await page.evaluate(
            "key => localStorage.getItem(key)", f"rapport:session:{interview['share_token']}"
        )
    )
    answered = await client.post(
        f"/v1/sessions/{token['session_id']}/messages",
        json={"content": "We plan every sprint with it.", "client_message_id": "c1"},
        headers={"authorization": f"Bearer {token['session_token']}"},
    )
    assert answered.status_code == 202, answered.text
    voice.send({"type": "voice.state", "state": "thinking"})
    await expect(status).to_have_text("The interviewer is thinking…")
    await expect(page.locator("[data-part=caption-interviewer]")).to_contain_text("Which plan")
    voice.send({"type": "voice.state", "state": "speaking"})
    speak(voice, "t2", 1000)
    voice.send({"type": "audio.ended", "turn_id": "t2", "duration_ms": 1000})
    await expect(status).to_have_text("The interviewer is speaking…")
    ended = await voice.next("playback", turn_id="t2", ended=True)
    reports = [f for f in voice.frames if f["type"] == "playback" and f["turn_id"] == "t2"]
    assert len(reports) >= 3, reports  # every ~250 ms while it played
    heard = [f["played_ms"] for f in reports]
    assert heard == sorted(heard) and abs(ended["played_ms"] - 1000) <= 30, reports

    # Barge-in: the respondent talks over a long turn; the page stops it at once.
    speak(voice, "t3", 5000)
    await voice.next("playback", turn_id="t3")
    asked = time.monotonic()
    after = len(voice.frames)
    voice.send({"type": "playback.stop", "turn_id": "t3", "reason": "barge_in"})
    flushed = await voice.next("playback", after=after, turn_id="t3")
    answered_in = time.monotonic() - asked
    assert flushed["ended"] is False and 250 <= flushed["played_ms"] < 4000, flushed
    assert answered_in < 0.5, answered_in  # within 200 ms in the page; slack for the test's pipes
    voice.send({"type": "voice.state", "state": "listening"})
    await expect(status).to_have_text("Listening…")

    # To typing and back: voice stops, the composer is there; talking again needs no new prompt.
    after = len(voice.frames)
    await page.locator("[data-part=to-text]").click()
    await voice.next("voice.stop", after=after)
    await expect(page.locator("#composer")).to_be_visible()
    await expect(page.locator("[data-part=voice-live]")).to_be_hidden()
    await page.locator("[data-part=to-voice]").click()
    await expect(page.locator("[data-part=voice-permission]")).to_be_hidden()
    await voice.next("voice.start", after=after)
    voice.send({"type": "voice.ready", "input": start["input"], "output": {"sample_rate": 24000}})
    await expect(status).to_have_text("Listening…")
    await expect(page.locator("#composer")).to_be_hidden()

    # Speech fails on the server: the respondent is told to type, and can.
    after = len(voice.frames)
    voice.send(
        {
            "type": "voice.error",
            "error": {"code": "speech_failed", "message": "recognition failed"},
            "fallback": "text",
        }
    )
    await expect(status).to_contain_text("Please type your answer instead")
    await expect(page.locator("#composer")).to_be_visible()
    await expect(page.locator("[data-part=voice-retry]")).to_be_visible()
    await expect(page.locator("[data-part=voice-live]")).to_be_hidden()
    assert not [f for f in voice.frames[after:] if f["type"] == "voice.start"]
    tab.assert_clean()
    await context.close()


async def test_a_refused_microphone_says_how_to_fix_it_and_typing_stays(
    media_browser: Browser, server: Server, client: httpx.AsyncClient
) -> None:
    context, page, tab = await new_page(media_browser, server, microphone=False)
    interview = await published_interview(client)
    await with_modes(page, ["text", "voice"])
    await page.goto(f"/i/{interview['share_token']}")
    await page.locator("[data-part=choose-voice]").click()
    await page.locator("[data-part=voice-allow]").click()
    status = page.locator("[data-part=voice-status]")
    await expect(status).to_contain_text("The microphone is blocked for this page")
    await expect(page.locator("section[data-part=voice]")).to_have_attribute(
        "data-state", "refused"
    )
    await expect(page.locator("[data-part=voice-retry]")).to_be_visible()
    await expect(page.locator("[data-part=voice-retry]")).to_be_focused()
    await expect(page.locator("#composer")).to_be_visible()  # typing is allowed: it stays
    await expect(page.locator("[data-part=voice-live]")).to_be_hidden()
    tab.assert_clean()
    await context.close()


async def test_voice_only_starts_with_the_microphone_step_and_text_only_shows_none(
    media_browser: Browser, server: Server, client: httpx.AsyncClient
) -> None:
    context, page, tab = await new_page(media_browser, server, microphone=False)
    spoken = await published_interview(client)
    await with_modes(page, ["voice"])
    await page.goto(f"/i/{spoken['share_token']}")
    await expect(page.locator("[data-part=voice-permission]")).to_be_visible()
    await expect(page.locator("[data-part=voice-choice]")).to_be_hidden()
    await expect(page.locator("#composer")).to_be_hidden()
    await page.locator("[data-part=voice-allow]").click()
    await expect(page.locator("[data-part=voice-status]")).to_contain_text("blocked")
    await expect(page.locator("#composer")).to_be_hidden()  # nothing to type into here
    await expect(page.locator("[data-part=to-text]")).to_be_hidden()

    await page.unroute("**/v1/public/interviews/*")
    typed = await published_interview(client)
    await page.goto(f"/i/{typed['share_token']}")  # no `modes`: text only
    await expect(page.locator("#input")).to_be_enabled()
    await expect(page.locator("section[data-part=voice]")).to_be_hidden()
    await expect(page.locator("[data-part=to-voice]")).to_be_hidden()
    tab.assert_clean()
    await context.close()


async def test_a_dropped_socket_asks_for_voice_again_on_the_next(
    media_browser: Browser, server: Server, client: httpx.AsyncClient
) -> None:
    """Voice is per socket: after a drop the page reconnects (a fresh ticket, after the last
    event), asks for voice again, and sends no audio until the server is ready."""
    context, page, tab = await new_page(media_browser, server, microphone=True)
    voice = VoiceServer()
    await page.route_web_socket("**/v1/sessions/*/ws*", voice.handle)
    interview = await published_interview(client)
    await with_modes(page, ["voice"])
    await page.goto(f"/i/{interview['share_token']}")
    await page.locator("[data-part=voice-allow]").click()
    start = await voice.next("voice.start")
    voice.send({"type": "voice.ready", "input": start["input"], "output": {"sample_rate": 24000}})
    status = page.locator("[data-part=voice-status]")
    await expect(status).to_have_text("Listening…")
    await voice.until(lambda: len(voice.audio) >= 5)

    assert voice.route is not None
    after = len(voice.frames)
    await voice.route.close(code=1013, reason="try again later")
    await voice.next("voice.start", after=after)
    assert voice.sockets == 2
    await expect(status).to_have_text("Connecting…")
    sent = len(voice.audio)
    voice.send({"type": "voice.ready", "input": start["input"], "output": {"sample_rate": 24000}})
    await expect(status).to_have_text("Listening…")
    await voice.until(lambda: len(voice.audio) >= sent + 5)
    await expect(page.locator("#composer")).to_be_hidden()
    tab.assert_clean()
    await context.close()
