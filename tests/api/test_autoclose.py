"""Auto-close end to end: the settings over HTTP, and a session ended by its respondent closes
the interview through the job queue."""

from __future__ import annotations

import httpx
import pytest

from runtime.analysis import autoclose
from runtime.live import ending
from tests.conftest import Server
from tests.helpers import next_turn, published_interview, sse_events, start_session

ONE_QUESTION = [{"text": "What do you use it for?", "question_type": "open_ended"}]


async def finished(server: Server, key: str) -> dict[str, object]:
    """The result of the job with this key, once it has run."""
    job = await server.app.state.services.jobs.job(key)
    assert job is not None, key
    # Listened for a second at a time: a job that finishes between the read and the
    # subscription (it takes milliseconds) would otherwise be waited for in vain.
    for _ in range(30):
        await job.refresh(until_complete=1)
        if job.completed:
            break
    assert job.completed and job.status == "complete", job.error
    result: dict[str, object] = job.result
    return result


async def test_the_settings_are_validated_and_shown(client: httpx.AsyncClient) -> None:
    made = await client.post("/v1/interviews", json={"title": "Closing", "participants_needed": 5})
    assert made.status_code == 201, made.text
    assert (made.json()["participants_needed"], made.json()["close_when_saturated"]) == (5, False)
    path = f"/v1/interviews/{made.json()['id']}"
    changed = await client.patch(
        path, json={"participants_needed": None, "close_when_saturated": True}
    )
    assert (changed.json()["participants_needed"], changed.json()["close_when_saturated"]) == (
        None,
        True,
    )
    for body, field in (
        ({"participants_needed": 0}, "participants_needed"),
        ({"participants_needed": "5"}, "participants_needed"),
        ({"close_when_saturated": "yes"}, "close_when_saturated"),
    ):
        bad = await client.patch(path, json=body)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == field, bad.text


@pytest.mark.usefixtures("job_worker")
async def test_the_last_needed_session_closes_the_interview(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client, participants_needed=2)
    first = await start_session(anon, interview["share_token"], name="Ada")
    second = await start_session(anon, interview["share_token"], name="Grace")
    for respondent in (first, second):
        ended = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
        assert ended.status_code == 200, ended.text
        result = await finished(server, autoclose.job_key(interview["id"], respondent.id))
        shown = (await client.get(f"/v1/interviews/{interview['id']}")).json()
        expected = "active" if respondent is first else "closed"
        assert shown["status"] == expected, result
    assert result == {
        "interview_id": interview["id"],
        "closed": True,
        "reason": "participants_needed",
    }
    late = await anon.post(f"/v1/public/interviews/{interview['share_token']}/sessions", json={})
    assert late.status_code == 409


@pytest.mark.usefixtures("job_worker")
async def test_a_session_ended_during_its_turn_is_checked_once(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    """The respondent's end queues the check; the turn that was owed then, finishing after
    that check has run, must not queue a second one (which, had the first closed the
    interview, would find it closed and say it closed nothing)."""
    interview = await published_interview(client, participants_needed=2)
    respondent = await start_session(anon, interview["share_token"])
    ended = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
    assert ended.status_code == 200, ended.text
    key = autoclose.job_key(interview["id"], respondent.id)
    assert (await finished(server, key))["closed"] is False  # one of two
    services = server.app.state.services
    ran = await services.jobs.job(key)
    # The owed turn's last step, as its runner takes it once the check has run.
    await ending.after_turn(
        services.db, services.leases, services.events, respondent.id, "", services.jobs
    )
    again = await services.jobs.job(key)
    assert again is not None and (again.status, again.queued) == ("complete", ran.queued)


@pytest.mark.usefixtures("job_worker")
async def test_the_turn_that_completes_a_session_queues_the_check(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, server: Server
) -> None:
    interview = await published_interview(client, guide=ONE_QUESTION, participants_needed=1)
    respondent = await start_session(anon, interview["share_token"])
    events = sse_events(anon, respondent.session["events_url"])
    await next_turn(events)
    said = await respondent.say("I use it every week to plan our team's sprint review in detail.")
    assert said.status_code == 202
    await next_turn(events)  # the closing message: the interviewer ends the session
    assert [e.event async for e in events][-1] == "session.completed"
    result = await finished(server, autoclose.job_key(interview["id"], respondent.id))
    assert result["reason"] == "participants_needed"
    shown = (await client.get(f"/v1/interviews/{interview['id']}")).json()
    assert shown["status"] == "closed"
