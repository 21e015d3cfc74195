"""The respondent page in a real headless Chromium: streaming, sending, resuming, states.

Uses the system browser (/usr/bin/chromium) through Playwright; no `playwright install`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    Dialog,
    Locator,
    Page,
    Request,
    Route,
    WebSocket,
    WebSocketRoute,
    expect,
)

from runtime.live.events import TurnCompleted, TurnDelta, TurnStarted
from runtime.sessions import store as sessions
from runtime.stores import redis_keys
from runtime.stores.database import Database
from tests.conftest import Server
from tests.helpers import published_interview, sse_events

OPENING = "Hi, thanks for joining!\n\nWhat do you use our app for?"
FIRST_ANSWER = "We plan every sprint with it and share the boards with our clients."
CLOSING = "That's all, thank you!"
FINISHED = "Thank you — this conversation is complete."
EVENTS = "**/v1/sessions/*/events?*"

# Records every text an interviewer bubble showed, to see turns grow delta by delta.
TEXT_RECORDER = """
window.__texts = {};
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    for (const li of document.querySelectorAll("li.message.interviewer[data-turn-id]")) {
      const seen = (window.__texts[li.dataset.turnId] ||= []);
      const text = li.querySelector(".text").textContent;
      if (seen[seen.length - 1] !== text) seen.push(text);
    }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
});
"""

# A browser (or a network) without WebSocket: the page falls back to SSE.
NO_WEBSOCKET = "Object.defineProperty(window, 'WebSocket', {value: undefined});"


@dataclass
class Tab:
    page: Page
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """No uncaught script errors and nothing refused by the page's CSP."""
        assert self.errors == [], self.errors


def watch(page: Page) -> Tab:
    """The page, with its script errors and CSP refusals recorded as they happen."""
    tab = Tab(page)
    page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            tab.errors.append(msg.text)
            if msg.type == "error"
            and ("Content Security Policy" in msg.text or "Refused" in msg.text)
            else None
        ),
    )
    return tab


@pytest.fixture
async def tab(browser: Browser, server: Server) -> AsyncIterator[Tab]:
    context = await browser.new_context(base_url=server.url, viewport={"width": 390, "height": 800})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    tab = watch(page)
    await page.add_init_script(TEXT_RECORDER)
    yield tab
    await context.close()


def interviewer(page: Page) -> Locator:
    return page.locator("li.message.interviewer")


def respondent(page: Page) -> Locator:
    return page.locator("li.message.respondent")


async def bubbles(page: Page) -> list[tuple[str, str]]:
    """(role, exact text) of every message on the page, in order."""
    rows = await page.eval_on_selector_all(
        "#messages > li.message",
        """els => els.map(li => [
            li.classList.contains("interviewer") ? "interviewer" : "respondent",
            li.querySelector(".text").textContent])""",
    )
    return [(role, text) for role, text in rows]


async def stored_session(page: Page, share_token: str) -> dict[str, str] | None:
    raw = await page.evaluate(
        "key => window.localStorage.getItem(key)", f"rapport:session:{share_token}"
    )
    return json.loads(raw) if raw else None


async def transcript(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/sessions/{session_id}/transcript")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def assert_matches_transcript(page: Page, client: httpx.AsyncClient, session_id: str) -> None:
    """Every message the server stored is on the page exactly once, in order, word for word."""
    # A turn is stored before its turn.completed is sent: compare once none is streaming.
    await expect(page.locator("li.message.streaming")).to_have_count(0)
    await expect(page.locator("#log")).to_have_attribute("aria-busy", "false")
    stored = (await transcript(client, session_id))["messages"]
    assert await bubbles(page) == [(m["role"], m["content"]) for m in stored]
    turn_ids = await interviewer(page).evaluate_all("els => els.map(li => li.dataset.turnId)")
    assert turn_ids == [m["turn_id"] for m in stored if m["role"] == "interviewer"]


async def answer(page: Page, text: str) -> None:
    box = page.locator("#input")
    await expect(box).to_be_enabled()
    await box.fill(text)
    await box.press("Enter")


async def open_recording_resumes(
    page: Page, share_token: str
) -> tuple[list[Request], list[Request]]:
    """Opens the page, recording its ticket requests and SSE streams, until the opening turn
    is shown whole and once, with no "reconnecting" notice left behind."""
    tickets: list[Request] = []
    streams: list[Request] = []
    page.on("request", lambda r: tickets.append(r) if r.url.endswith("/tickets") else None)
    page.on("request", lambda r: streams.append(r) if "/events?" in r.url else None)
    await page.goto(f"/i/{share_token}")
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)
    await expect(interviewer(page)).to_have_count(1)
    await expect(page.locator("#notice")).to_have_text("")
    grown = await page.evaluate("window.__texts.t1")
    assert grown[-1] == OPENING and all(OPENING.startswith(t) for t in grown), grown
    return tickets, streams


async def test_opening_streams_in_and_enter_sends_an_answer(
    server: Server, client: httpx.AsyncClient, tab: Tab
) -> None:
    page = tab.page
    interview = await published_interview(client, language="en")
    await page.goto(f"/i/{interview['share_token']}")

    await expect(page).to_have_title("Onboarding study")
    await expect(page.locator("h1")).to_have_text("Onboarding study")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    first = interviewer(page).first
    await expect(first).to_have_attribute("data-turn-id", "t1")
    await expect(first.locator(".text")).to_have_text(OPENING)
    assert await first.locator(".text").text_content() == OPENING  # newlines kept, not collapsed

    # The bubble grew delta by delta: several distinct prefixes before the whole turn.
    grown = await page.evaluate("window.__texts.t1")
    assert grown[-1] == OPENING
    assert len(grown) >= 3, grown
    assert all(OPENING.startswith(text) for text in grown), grown

    stored = await stored_session(page, interview["share_token"])
    assert stored is not None and stored["session_id"].startswith("ses")
    assert stored["session_token"].startswith("st_")
    await expect(page.locator("#notice")).to_have_text("")

    # Shift+Enter is a new line; Enter sends.
    box = page.locator("#input")
    await expect(box).to_be_enabled()
    await box.fill("We plan every sprint with it")
    await box.press("Shift+Enter")
    await box.press_sequentially("and share boards with clients.")
    assert await box.input_value() == "We plan every sprint with it\nand share boards with clients."
    await expect(respondent(page)).to_have_count(0)
    await box.press("Enter")

    await expect(respondent(page)).to_have_count(1)
    await expect(box).to_have_value("")
    await expect(interviewer(page)).to_have_count(2)
    second = interviewer(page).nth(1)
    await expect(second).to_have_attribute("data-turn-id", "t2")
    await expect(second.locator(".text")).to_have_text(
        "Thank you. Which plan are you on? 1. Free 2. Pro 3. Team"
    )
    await expect(box).to_be_enabled()
    await expect(respondent(page).locator(".text")).to_have_text(
        "We plan every sprint with it\nand share boards with clients."
    )
    assert await respondent(page).get_attribute("data-message-id")
    await assert_matches_transcript(page, client, stored["session_id"])
    tab.assert_clean()


async def test_reload_resumes_the_same_session_through_to_the_end(
    server: Server, client: httpx.AsyncClient, tab: Tab
) -> None:
    page = tab.page
    interview = await published_interview(client)
    share_token = interview["share_token"]
    await page.goto(f"/i/{share_token}")
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)
    await answer(page, FIRST_ANSWER)
    await expect(interviewer(page).nth(1).locator(".text")).to_contain_text("Which plan")
    before = await stored_session(page, share_token)
    assert before is not None

    await page.reload()
    await expect(interviewer(page)).to_have_count(2)
    await expect(respondent(page)).to_have_count(1)
    await expect(respondent(page).locator(".text")).to_have_text(FIRST_ANSWER)
    assert await stored_session(page, share_token) == before
    await assert_matches_transcript(page, client, before["session_id"])

    await answer(page, "Pro")
    await expect(interviewer(page).nth(2).locator(".text")).to_contain_text("recommend")
    await answer(page, "4")
    await expect(interviewer(page).nth(3).locator(".text")).to_have_text(CLOSING)
    await expect(page.locator("#notice")).to_have_text(FINISHED)
    await expect(page.locator("#input")).to_be_disabled()
    await expect(page.locator("#send")).to_be_disabled()
    await expect(page.locator("#end")).to_be_hidden()
    await assert_matches_transcript(page, client, before["session_id"])

    found = await client.get(f"/v1/interviews/{interview['id']}")
    assert found.json()["session_counts"]["total"] == 1, "the reload made no second session"
    assert (await transcript(client, before["session_id"]))["status"] == "completed"

    # Coming back to a finished conversation shows it, once, and the thank-you.
    await page.reload()
    await expect(page.locator("#notice")).to_have_text(FINISHED)
    await expect(interviewer(page)).to_have_count(4)
    await expect(page.locator("#input")).to_be_disabled()
    await assert_matches_transcript(page, client, before["session_id"])
    tab.assert_clean()


async def test_paused_and_unknown_interviews_say_so(client: httpx.AsyncClient, tab: Tab) -> None:
    page = tab.page
    interview = await published_interview(client)
    paused = await client.post(f"/v1/interviews/{interview['id']}/pause")
    assert paused.status_code == 200, paused.text

    await page.goto(f"/i/{interview['share_token']}")
    notice = page.locator("#notice")
    await expect(notice).to_contain_text("This interview is paused")
    await expect(notice).to_have_attribute("data-state", "paused")
    await expect(notice).to_have_attribute("role", "status")
    await expect(page.locator("h1")).to_have_text("Onboarding study")
    await expect(page.locator("#composer")).to_be_hidden()
    await expect(page.locator("#end")).to_be_hidden()
    await expect(page.locator("li.message")).to_have_count(0)
    assert await stored_session(page, interview["share_token"]) is None

    await page.goto("/i/no-such-interview")
    await expect(notice).to_have_attribute("data-state", "not-found")
    await expect(notice).to_contain_text("couldn't find this interview")
    await expect(page.locator("h1")).to_have_text("Interview not found")
    await expect(page.locator("#composer")).to_be_hidden()
    tab.assert_clean()


async def test_stream_drop_gets_a_new_ticket_and_resumes_after_the_last_event(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, tab: Tab
) -> None:
    """The first stream ends mid-turn and the browser's retry finds its ticket expired: the
    page asks for a new ticket and resumes after the last event it saw, so nothing repeats.
    A browser without WebSocket: the page streams over SSE."""
    page = tab.page
    await page.add_init_script(NO_WEBSOCKET)
    interview = await published_interview(client)
    routed = 0
    relayed: list[str] = []

    async def events(route: Route) -> None:
        nonlocal routed
        routed += 1
        if routed == 1:
            # Relay the real stream up to the second delta of the opening turn, then hang up.
            body = "retry: 50\n\n"
            deltas = 0
            real = sse_events(anon, route.request.url)
            try:
                async for event in real:
                    data = json.dumps(event.data)
                    body += f"id: {event.id}\nevent: {event.event}\ndata: {data}\n\n"
                    relayed.append(event.id)
                    deltas += event.event == "turn.delta"
                    if deltas == 2:
                        break
            finally:
                await real.aclose()  # type: ignore[attr-defined]
            await route.fulfill(
                status=200, headers={"content-type": "text/event-stream"}, body=body
            )
        else:
            # Later streams go straight to the server (an intercepted stream is not streamed).
            error = {"error": {"code": "unauthorized", "message": "the stream ticket has expired"}}
            await route.fulfill(status=401, json=error)
            await page.unroute(EVENTS, events)

    await page.route(EVENTS, events)
    tickets, streams = await open_recording_resumes(page, interview["share_token"])
    assert len(streams) == 3
    assert streams[1].url == streams[0].url  # the browser's own retry, with the old ticket
    assert len(tickets) == 1 and tickets[0].method == "POST"
    assert tickets[0].headers["authorization"].startswith("Bearer st_")
    fresh = await tickets[0].response()
    assert fresh is not None and fresh.status == 200
    resumed = httpx.URL(streams[2].url)
    assert resumed.copy_remove_param("last_event_id") == httpx.URL(
        (await fresh.json())["events_url"]
    )
    assert resumed.params["last_event_id"] == relayed[-1]

    # The resumed stream carries the rest of the conversation.
    await answer(page, FIRST_ANSWER)
    await expect(interviewer(page).nth(1).locator(".text")).to_contain_text("Which plan")
    stored = await stored_session(page, interview["share_token"])
    assert stored is not None
    await assert_matches_transcript(page, client, stored["session_id"])
    assert len(streams) == 3
    tab.assert_clean()


async def test_socket_drop_gets_a_new_ticket_and_resumes_after_the_last_event(
    client: httpx.AsyncClient, tab: Tab
) -> None:
    """The page streams over the WebSocket the server offers. The first socket is cut
    mid-turn: the page asks for a new ticket and opens a socket that resumes after the last
    event it saw, so nothing repeats; answers still go over HTTP."""
    page = tab.page
    interview = await published_interview(client)
    sockets: list[str] = []  # the URL of every socket the page opened
    relayed: list[str] = []

    async def socket(ws: WebSocketRoute) -> None:
        sockets.append(ws.url)
        server = ws.connect_to_server()
        if len(sockets) > 1:
            return  # later sockets go straight through

        cut = False
        deltas = 0

        async def relay(frame: str | bytes) -> None:
            # Relay the real socket up to the second delta of the opening turn, then cut it.
            nonlocal cut, deltas
            if cut:
                return
            event = json.loads(frame)
            ws.send(frame)
            relayed.append(event["id"])
            deltas += event["event"] == "turn.delta"
            if deltas == 2:
                cut = True
                await ws.close(code=1013, reason="try again later")

        server.on_message(relay)

    await page.route_web_socket("**/v1/sessions/*/ws*", socket)
    tickets, streams = await open_recording_resumes(page, interview["share_token"])
    assert len(sockets) == 2 and streams == [], (sockets, streams)
    assert httpx.URL(sockets[0]).params.get("last_event_id") is None  # the whole log
    assert len(tickets) == 1 and tickets[0].method == "POST"
    fresh = await tickets[0].response()
    assert fresh is not None and fresh.status == 200
    resumed = httpx.URL(sockets[1])
    assert resumed.copy_remove_param("last_event_id") == httpx.URL((await fresh.json())["ws_url"])
    assert resumed.params["last_event_id"] == relayed[-1]

    posted: list[Request] = []
    page.on("request", lambda r: posted.append(r) if r.url.endswith("/messages") else None)
    await answer(page, FIRST_ANSWER)
    await expect(interviewer(page).nth(1).locator(".text")).to_contain_text("Which plan")
    assert len(posted) == 1 and posted[0].method == "POST"
    stored = await stored_session(page, interview["share_token"])
    assert stored is not None
    await assert_matches_transcript(page, client, stored["session_id"])
    assert len(sockets) == 2
    tab.assert_clean()


async def test_send_retries_with_the_same_id_and_shows_a_conflict(
    client: httpx.AsyncClient, tab: Tab
) -> None:
    page = tab.page
    interview = await published_interview(client)
    posted: list[dict[str, Any]] = []
    # What the server answers a message sent while a turn is still being written.
    busy = "the interviewer is still responding; send after the turn completes"
    conflict = {"error": {"code": "conflict", "message": busy}}

    async def messages(route: Route) -> None:
        posted.append(route.request.post_data_json)
        if len(posted) == 1:
            await route.abort("internetdisconnected")  # the first attempt never arrives
        elif len(posted) == 3:
            await route.fulfill(status=409, json=conflict)
        else:
            await route.continue_()

    await page.route("**/v1/sessions/*/messages", messages)
    await page.goto(f"/i/{interview['share_token']}")
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)

    await answer(page, FIRST_ANSWER)
    await expect(interviewer(page).nth(1).locator(".text")).to_contain_text("Which plan")
    assert len(posted) == 2
    assert (
        posted[0]
        == posted[1]
        == {"content": FIRST_ANSWER, "client_message_id": posted[0]["client_message_id"]}
    )
    assert len(posted[0]["client_message_id"]) == 36  # a UUID
    await expect(respondent(page)).to_have_count(1)
    await expect(respondent(page)).to_have_attribute(
        "data-client-message-id", posted[0]["client_message_id"]
    )

    await answer(page, "Pro")
    await expect(page.locator("#error")).to_have_text(
        "The interviewer is still responding; send after the turn completes"
    )
    await expect(page.locator("#input")).to_have_value("Pro")  # given back, not lost
    await expect(respondent(page)).to_have_count(1)
    await expect(page.locator("#input")).to_be_enabled()
    assert posted[2]["client_message_id"] != posted[0]["client_message_id"]
    tab.assert_clean()


async def test_end_conversation_after_confirming(client: httpx.AsyncClient, tab: Tab) -> None:
    page = tab.page
    interview = await published_interview(client)
    await page.goto(f"/i/{interview['share_token']}")
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)

    dialogs: list[str] = []

    async def decide(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await (dialog.dismiss() if len(dialogs) == 1 else dialog.accept())

    page.on("dialog", decide)
    end = page.locator("#end")
    await end.click()  # dismissed: nothing happens
    await expect(page.locator("#input")).to_be_enabled()
    await end.click()
    await expect(page.locator("#notice")).to_have_text(
        "You ended this conversation. Thank you for your time."
    )
    await expect(page.locator("#input")).to_be_disabled()
    await expect(end).to_be_hidden()
    assert len(dialogs) == 2 and "End this conversation" in dialogs[0]

    stored = await stored_session(page, interview["share_token"])
    assert stored is not None
    session = (await client.get(f"/v1/sessions/{stored['session_id']}")).json()
    assert session["status"] == "completed"
    assert session["ended_reason"] == "ended_by_respondent"
    tab.assert_clean()


async def test_a_stored_session_that_is_refused_is_replaced(
    client: httpx.AsyncClient, tab: Tab
) -> None:
    page = tab.page
    interview = await published_interview(client)
    share_token = interview["share_token"]
    await page.goto(f"/i/{share_token}")
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)
    first = await stored_session(page, share_token)
    assert first is not None

    bogus = {"session_id": first["session_id"], "session_token": "st_not-a-real-token"}
    await page.evaluate(
        "([key, value]) => window.localStorage.setItem(key, value)",
        [f"rapport:session:{share_token}", json.dumps(bogus)],
    )
    await page.reload()
    await expect(interviewer(page)).to_have_count(1)
    await expect(interviewer(page).first.locator(".text")).to_have_text(OPENING)
    await page.wait_for_function(
        "([key, bogus]) => { const s = window.localStorage.getItem(key);"
        " return s !== null && JSON.parse(s).session_token !== bogus; }",
        arg=[f"rapport:session:{share_token}", bogus["session_token"]],
    )
    second = await stored_session(page, share_token)
    assert second is not None and second["session_id"] != first["session_id"]
    await assert_matches_transcript(page, client, second["session_id"])
    counts = (await client.get(f"/v1/interviews/{interview['id']}")).json()["session_counts"]
    assert counts["total"] == 2
    tab.assert_clean()


async def test_a_restarted_turn_replaces_what_was_shown(
    server: Server, db: Database, client: httpx.AsyncClient, tab: Tab
) -> None:
    """Redis lost a turn half-way: it comes again from its start (turn.started restart=true),
    and the page shows it afresh instead of gluing it to the half it had."""
    page = tab.page
    interview = await published_interview(client)
    share_token = interview["share_token"]
    started = await sessions.start(db, share_token, {})
    session_id = started.row["id"]
    services = server.app.state.services
    # This test writes the turn's events itself: a lease it holds keeps recovery away.
    lease = redis_keys.lease(session_id)
    await services.redis.set(lease, "this-test", px=60_000)
    try:
        stored = json.dumps({"session_id": session_id, "session_token": started.token})
        await page.add_init_script(
            f"window.localStorage.setItem({json.dumps(f'rapport:session:{share_token}')},"
            f" {json.dumps(stored)})"
        )
        await page.goto(f"/i/{share_token}")
        bubble = interviewer(page).first.locator(".text")
        await services.events.append(session_id, TurnStarted("t1", None))
        await services.events.append(session_id, TurnDelta("t1", "Hello, and wel"))
        await expect(bubble).to_have_text("Hello, and wel")
        await services.events.append(session_id, TurnStarted("t1", None, restart=True))
        await services.events.append(session_id, TurnDelta("t1", "Hi, thanks"))
        await expect(bubble).to_have_text("Hi, thanks")
        await services.events.append(session_id, TurnCompleted("t1", "Hi, thanks!", "Q1"))
        await expect(bubble).to_have_text("Hi, thanks!")
        await expect(interviewer(page)).to_have_count(1)
        shown = await page.evaluate("window.__texts.t1")
        assert not any("welHi" in text for text in shown), shown
    finally:
        await services.redis.delete(lease)
    tab.assert_clean()


# The view's markup without ids: the parts are found within each root (respondent/view.js).
VIEW_MARKUP = """
<h1 data-part="title">Loading…</h1>
<button type="button" data-part="end" hidden>End conversation</button>
<p data-part="privacy" hidden>Your answers are anonymous.</p>
<p data-part="notice" role="status"></p>
<p data-part="error" role="alert"></p>
<section data-part="log" role="log"><ol data-part="messages"></ol></section>
<form data-part="composer" hidden novalidate>
  <textarea data-part="input" aria-label="Your answer" disabled></textarea>
  <button type="submit" data-part="send" disabled>Send</button>
</form>
"""


async def test_two_views_on_one_page_one_in_a_shadow_root(
    client: httpx.AsyncClient, tab: Tab
) -> None:
    """The respondent page of one interview, and a second conversation mounted beside it
    inside a shadow root. Each has its own session, socket and composer; answering one
    leaves the other as it was."""
    page = tab.page
    first = await published_interview(client, title="First study")
    second = await published_interview(client, title="Second study")
    sockets: list[WebSocket] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    await page.goto(f"/i/{first['share_token']}")
    one, other = page.locator("#app"), page.locator("#host")  # CSS locators pierce shadow roots
    await expect(one.locator("li.message.interviewer .text")).to_have_text([OPENING])

    # What an embedding page does: the module again (the same instance: no second auto-mount),
    # and a root of its own, here inside a shadow root with the stylesheet.
    await page.evaluate(
        """async ([markup, shareToken]) => {
            const { mount } = await import("/static/respondent.js");
            const host = document.createElement("div");
            host.id = "host";
            document.body.append(host);
            const shadow = host.attachShadow({ mode: "open" });
            const style = `<link rel="stylesheet" href="/static/respondent.css">`;
            shadow.innerHTML = `${style}<div class="root">${markup}</div>`;
            window.__second = mount(shadow.querySelector(".root"), { shareToken });
        }""",
        [VIEW_MARKUP, second["share_token"]],
    )
    await expect(other.locator("h1")).to_have_text("Second study")
    await expect(other.locator("li.message.interviewer .text")).to_have_text([OPENING])
    await expect(one.locator("h1")).to_have_text("First study")
    await expect(page).to_have_title("First study")  # the auto-mounted view owns the document
    await expect(page.locator("[data-part=messages]")).to_have_count(2)

    await answer(page, FIRST_ANSWER)  # #input: the page's own view
    await expect(one.locator("li.message.interviewer")).to_have_count(2)
    await expect(one.locator("li.message.interviewer").nth(1)).to_contain_text("Which plan")
    # Once that turn is whole (the page stops scrolling to follow it), the other view.
    await expect(one.locator("li.message.streaming")).to_have_count(0)
    await expect(other.locator("li.message")).to_have_count(1)
    await expect(other.locator("[data-part=input]")).to_be_enabled()
    await expect(other.locator("[data-part=input]")).to_have_value("")

    await other.locator("[data-part=input]").fill("Mostly for planning.")
    await other.locator("[data-part=input]").press("Enter")
    await expect(other.locator("li.message.respondent .text")).to_have_text(
        ["Mostly for planning."]
    )
    await expect(other.locator("li.message.interviewer")).to_have_count(2)
    await expect(one.locator("li.message")).to_have_count(3)

    ids = []
    for interview, view in ((first, one), (second, other)):
        stored = await stored_session(page, interview["share_token"])
        assert stored is not None
        ids.append(stored["session_id"])
        said = await view.locator("li.message .text").all_text_contents()
        messages = (await transcript(client, stored["session_id"]))["messages"]
        assert said == [m["content"] for m in messages]
    assert ids[0] != ids[1]
    by_session = {httpx.URL(ws.url).path.split("/")[3]: ws for ws in sockets}
    assert len(sockets) == 2 and sorted(by_session) == sorted(ids)

    # Unmounted, the second view lets its socket go; the first keeps its own.
    async with by_session[ids[1]].expect_event("close"):
        await page.evaluate("window.__second.unmount()")
    assert not by_session[ids[0]].is_closed()
    tab.assert_clean()
