"""Auto-close end to end: the settings over HTTP, and a session ended by its respondent closes
the interview through the job queue."""

from __future__ import annotations

import httpx
import pytest

from runtime.analysis import autoclose
from tests.conftest import Server
from tests.helpers import published_interview, start_session


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
    jobs = server.app.state.services.jobs
    for respondent in (first, second):
        ended = await anon.post(f"/v1/sessions/{respondent.id}/end", headers=respondent.auth)
        assert ended.status_code == 200, ended.text
        job = await jobs.job(autoclose.job_key(interview["id"], respondent.id))
        assert job is not None
        # Listened for a second at a time: a job that finishes between the read and the
        # subscription (it takes milliseconds) would otherwise be waited for in vain.
        for _ in range(30):
            await job.refresh(until_complete=1)
            if job.completed:
                break
        assert job.completed and job.status == "complete", job.error
        shown = (await client.get(f"/v1/interviews/{interview['id']}")).json()
        expected = "active" if respondent is first else "closed"
        assert shown["status"] == expected, job.result
    assert job.result == {
        "interview_id": interview["id"],
        "closed": True,
        "reason": "participants_needed",
    }
    late = await anon.post(f"/v1/public/interviews/{interview['share_token']}/sessions", json={})
    assert late.status_code == 409
