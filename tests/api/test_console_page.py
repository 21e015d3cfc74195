"""The console page in a real headless Chromium: signing in with a key kept nowhere, an
interview's session appearing and streaming as it happens, notes and bookmarks, a finished
session's files; its CSP refusing nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.api.test_page import Tab, watch
from tests.api.test_steering import INSTRUCTION, RICH, llm_session
from tests.api.test_takeover import MINE
from tests.conftest import Server
from tests.helpers import published_interview, start_session

ANSWER = "We plan every sprint with it and share the boards with our clients."


@pytest.fixture
async def console(browser: Browser, server: Server) -> AsyncIterator[Tab]:
    context = await browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield watch(page)
    await context.close()


async def sign_in(page: Page, key: str) -> None:
    response = await page.goto("/console")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    await page.locator("#api-key").fill(key)
    await page.locator("#api-key").press("Enter")  # the keyboard is enough
    await expect(page.locator("#workspace")).to_be_visible()


async def test_console_watches_a_session_stream_and_annotates_it(
    console: Tab, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    page = console.page
    interview = await published_interview(client)
    await sign_in(page, api_key)
    # Neither the key nor the ticket is in any storage; the key is not even in the field.
    stored = await page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert "rk_live" not in stored and "ct_" not in stored
    assert await page.locator("#api-key").input_value() == ""
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
            .filter(el => !el.labels.length && !el.getAttribute('aria-label')).map(el => el.id)"""
    )
    assert unlabelled == []

    await page.select_option("#interview", interview["id"])
    # The real interview feed: the session appears from its session.started, not a poll.
    await expect(page.locator("#feed-mode")).to_contain_text("the interview's feed")
    who = await start_session(anon, interview["share_token"])
    row = page.locator(f"#live-sessions li[data-session-id='{who.id}']")
    await expect(row).to_be_visible()
    await row.locator("button").click()

    transcript = page.locator("#transcript")
    opening = transcript.locator("li.interviewer").first
    await expect(opening.locator(".text")).to_contain_text("What do you use our app for?")
    await expect(opening).to_have_attribute("data-streaming", "false")
    said = await who.say(ANSWER)
    assert said.status_code == 202, said.text
    answer = transcript.locator("li.respondent")
    await expect(answer.locator(".text")).to_have_text(ANSWER)
    await expect(transcript.locator("li.interviewer")).to_have_count(2)
    await expect(page.locator("#coverage li").first).to_be_visible()
    await expect(page.locator("#coverage-summary")).to_contain_text("of 3 items answered")
    await expect(row).to_contain_text("of 3 items")

    # A bookmark on the answer, then a note on the session as a whole.
    await answer.locator("button.bookmark").click()
    await expect(answer.locator(".note[data-kind='bookmark']")).to_have_count(1)
    await page.locator("#note-body").fill("Uses it with clients: a sharing story")
    await page.locator("#note-form button[type=submit]").click()
    await expect(page.locator("#session-notes .note")).to_have_text(
        "Note: Uses it with clients: a sharing story"
    )
    listed = (await client.get(f"/v1/sessions/{who.id}/notes")).json()["items"]
    assert sorted(n["kind"] for n in listed) == ["bookmark", "note"]
    bookmark = next(n for n in listed if n["kind"] == "bookmark")
    assert bookmark["message_id"] == said.json()["message_id"]

    # The session ends: it moves to the finished list, and its files can be downloaded.
    ended = await anon.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert ended.status_code == 200, ended.text
    await expect(page.locator(f"#finished-sessions li[data-session-id='{who.id}']")).to_be_visible()
    await expect(page.locator("#session-state")).to_contain_text("Finished")
    link = page.locator("#files a", has_text=".md")
    await expect(link).to_have_count(1)
    markdown = await anon.get(str(await link.get_attribute("href")))
    assert markdown.status_code == 200 and ANSWER in markdown.text
    console.assert_clean()


async def test_a_finished_session_opens_from_its_transcript(
    console: Tab, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    page = console.page
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    ended = await anon.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert ended.status_code == 200
    made = await client.post(
        f"/v1/sessions/{who.id}/notes", json={"kind": "note", "body": "Left early"}
    )
    assert made.status_code == 201
    await sign_in(page, api_key)
    await page.select_option("#interview", interview["id"])
    row = page.locator(f"#finished-sessions li[data-session-id='{who.id}']")
    await row.locator("button").click()
    await expect(page.locator("#session-notes .note")).to_have_text("Note: Left early")
    await expect(page.locator("#steer-form")).to_be_hidden()
    await expect(page.locator("#files a").first).to_be_visible()
    console.assert_clean()


async def test_a_bad_key_is_refused_and_signing_out_forgets_the_ticket(
    console: Tab, server: Server, api_key: str
) -> None:
    page = console.page
    await page.goto("/console")
    await page.locator("#api-key").fill("rk_live_not-a-key")
    await page.locator("#sign-in-form button").click()
    await expect(page.locator("#error")).to_contain_text("not valid")
    await expect(page.locator("#workspace")).to_be_hidden()
    await sign_in(page, api_key)
    async with page.expect_response("**/v1/console/tickets/current") as signing_out:
        await page.locator("#sign-out").click()
    signed_out = await signing_out.value
    assert signed_out.status == 204
    await expect(page.locator("#sign-in")).to_be_visible()
    bearer = await signed_out.request.header_value("authorization")
    assert bearer is not None and bearer.startswith("Bearer ct_")
    ticket = bearer.removeprefix("Bearer ")
    async with httpx.AsyncClient(base_url=server.url) as http:
        after = await http.get("/v1/interviews", headers={"authorization": f"Bearer {ticket}"})
    assert after.status_code == 401, "signed out on the server too"
    console.assert_clean()


async def test_with_the_interview_feed_the_page_follows_it(
    console: Tab, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    """The feed's contract (GET /v1/interviews/{id}/live: SSE frames whose data is the event
    plus its session_id), served here by the browser's router: the page reads it with its
    ticket, resumes after its last event id, and keeps the list from it alone."""
    page = console.page
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    opened: list[dict[str, str]] = []
    resumed = asyncio.Event()

    async def feed(route: Route) -> None:
        opened.append(route.request.headers)
        if len(opened) > 1:
            resumed.set()
            # Resumed from before what the feed holds: the page reads the list again.
            reset = 'event: feed.reset\ndata: {"last_event_id": "9-1"}\n\n'
            await route.fulfill(status=200, content_type="text/event-stream", body=reset)
            return
        frames = [
            ("9-0", "session.started", {"session_id": who.id, "interview_id": interview["id"]}),
            ("9-1", "coverage.updated", {
                "session_id": who.id, "turn_id": "t1", "answered": 2, "total": 3,
                "share": 0.67, "required_open": 1, "items": [],
            }),
        ]  # fmt: skip
        body = "".join(f"id: {i}\nevent: {t}\ndata: {json.dumps(d)}\n\n" for i, t, d in frames)
        await route.fulfill(status=200, content_type="text/event-stream", body=body)

    await page.route("**/v1/interviews/*/live", feed)
    await sign_in(page, api_key)
    await page.select_option("#interview", interview["id"])
    await expect(page.locator("#feed-mode")).to_contain_text("the interview's feed")
    row = page.locator(f"#live-sessions li[data-session-id='{who.id}']")
    await expect(row).to_contain_text("2 of 3 items")
    # The mocked body ends at once: the page reconnects, and says where it stopped.
    async with asyncio.timeout(15):
        await resumed.wait()
    assert opened[0]["authorization"].startswith("Bearer ct_")
    assert "last-event-id" not in opened[0]
    assert opened[1]["last-event-id"] == "9-1", "resumed after the last event it saw"
    async with page.expect_request("**/v1/interviews/*/sessions?*"):
        pass  # the reset's refresh (or the next one's)
    console.assert_clean()


async def test_the_console_steers_takes_over_and_hands_back(
    console: Tab, client: httpx.AsyncClient, anon: httpx.AsyncClient, api_key: str
) -> None:
    page = console.page
    _, who = await llm_session(client, anon)
    interview = (await client.get(f"/v1/sessions/{who.id}")).json()["interview_id"]
    await sign_in(page, api_key)
    await page.select_option("#interview", interview)
    row = page.locator(f"#live-sessions li[data-session-id='{who.id}']")
    await row.locator("button").click()
    transcript = page.locator("#transcript")
    await expect(transcript.locator("li.interviewer[data-streaming='false']")).to_have_count(1)

    # An instruction, sent from the console, is listed queued (its event on the log).
    await page.locator("#steer-instruction").fill(INSTRUCTION)
    await page.locator("#steer-form button[type=submit]").click()
    await expect(page.locator("#steering li")).to_contain_text("Next turn: " + INSTRUCTION[:20])
    await expect(page.locator("#steering li")).to_contain_text("queued")
    listed = (await client.get(f"/v1/sessions/{who.id}/steer")).json()["items"]
    assert [s["instruction"] for s in listed] == [INSTRUCTION]

    # Taken over: the researcher's turn reaches the respondent and is labelled theirs.
    await page.locator("#takeover").click()
    await expect(page.locator("#handback")).to_be_visible()
    await expect(row).to_contain_text("taken over")
    said = await who.say(RICH)
    assert said.status_code == 202
    await expect(transcript.locator("li.respondent .text")).to_have_text(RICH)
    await page.locator("#researcher-message").fill(MINE)
    await page.locator("#researcher-form button[type=submit]").click()
    mine = transcript.locator("li.interviewer[data-author='researcher']")
    await expect(mine.locator(".text")).to_have_text(MINE)
    await expect(mine.locator(".who")).to_have_text("You (researcher)")
    stored = (await client.get(f"/v1/sessions/{who.id}/transcript")).json()["messages"]
    assert [m["author"] for m in stored if m["role"] == "interviewer"] == ["ai", "researcher"]

    # Handed back: the AI writes the next turn again, after the respondent's answer, and the
    # instruction it was given is applied by it.
    await page.locator("#handback").click()
    await expect(page.locator("#takeover")).to_be_visible()
    assert (await who.say("Mostly the two product managers.")).status_code == 202
    await expect(transcript.locator("li.interviewer[data-author='ai']")).to_have_count(2)
    await expect(page.locator("#steering li")).to_contain_text("applied")
    console.assert_clean()
