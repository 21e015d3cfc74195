"""The respondents: the interview they answer, and starting their sessions on each server."""

from __future__ import annotations

import asyncio
import dataclasses

from bench.client import WAIT, Stream, gather_limited, open_stream, request

# The interview: open-ended questions only, one more than there are rounds. Every round
# answers one with enough words not to be probed, so the scripted engine's next turn is
# always "Thank you. <next question>" and its first turn.delta is "Thank ".
TOPICS = ("planning", "reporting", "onboarding", "support", "billing", "hiring", "research")


def guide(questions: int) -> list[dict[str, str]]:
    return [
        {
            "text": f"How does your team handle {TOPICS[i % len(TOPICS)]} today?",
            "question_type": "open_ended",
            "follow_up": "Can you give me a recent example?",
        }
        for i in range(questions)
    ]


def answer(round_index: int) -> str:
    topic = TOPICS[round_index % len(TOPICS)]
    return (
        f"For {topic} we keep a shared board, review it every Monday with the whole team, "
        "and move anything blocked to the top so someone picks it up the same day."
    )


@dataclasses.dataclass
class Session:
    """One respondent as the client sees it: where it posts, with what credentials, its stream."""

    id: str
    post_path: str
    headers: dict[str, str]
    turns: bool  # whether the server sends whole turns (Rapport) or one frame (baseline)
    stream: Stream | None = None


async def publish_interview(
    port: int, api_key: str, questions: int, engine: str = "scripted"
) -> str:
    auth = {"authorization": f"Bearer {api_key}"}
    status, interview = await request(
        port,
        "POST",
        "/v1/interviews",
        {
            "title": "Benchmark study",
            "goal": "Measure the live stream",
            "language": "en",
            "welcome_message": "Hi, thanks for joining!",
            "closing_message": "That's all, thank you!",
            "engine": engine,
        },
        auth,
    )
    assert status == 201, interview
    base = f"/v1/interviews/{interview['id']}"
    status, body = await request(port, "POST", f"{base}/sections", {"title": "Main"}, auth)
    assert status == 201, body
    for item in guide(questions):
        status, body = await request(port, "POST", f"{base}/sections/S1/questions", item, auth)
        assert status == 201, body
    status, body = await request(port, "POST", f"{base}/publish", None, auth)
    assert status == 200, body
    return str(body["share_token"])


async def rapport_session(port: int, share_token: str, kind: type[Stream] = Stream) -> Session:
    status, body = await request(port, "POST", f"/v1/public/interviews/{share_token}/sessions", {})
    if status != 201:
        raise RuntimeError(f"session start answered {status}: {body}")
    events_url = str(body["events_url"])
    session = Session(
        body["session_id"],
        f"/v1/sessions/{body['session_id']}/messages",
        {"authorization": f"Bearer {body['session_token']}"},
        turns=True,
    )
    session.stream = await open_stream(port, events_url.split(f":{port}", 1)[1], kind=kind)
    async with asyncio.timeout(WAIT):
        await session.stream.expect("turn.completed", "t1")  # the opening question
    return session


async def create_idle_sessions(env: dict[str, str], share_token: str, count: int) -> list[str]:
    """Sessions for the idle streams, started through the runtime in this process (the same
    conversation.start the API calls, opening turn included), so the server under measurement
    spends no memory on creating them; returns their events paths with a signed ticket."""
    from runtime.live import conversation, tickets
    from runtime.platform.settings import Settings
    from runtime.services import Services

    settings = Settings.from_env(env)
    services = await Services.open(settings)
    try:

        async def one() -> str:
            started = await conversation.start(services, share_token, {})
            session_id = str(started.row["id"])
            for task in asyncio.all_tasks():
                if task.get_name() == f"turn:{session_id}":
                    await task  # the opening turn, generated here
            ticket = tickets.issue(settings.secret_key, session_id, settings.ticket_ttl_seconds)
            return f"/v1/sessions/{session_id}/events?ticket={ticket}"

        results = await gather_limited([one() for _ in range(count)], 16)
    finally:
        await services.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} idle sessions failed to start: {failed[0]!r}")
    return list(results)


async def baseline_session(port: int, index: int) -> Session:
    sid = f"b{index:06d}"
    session = Session(sid, f"/messages/{sid}", {"authorization": f"Bearer st_{sid}"}, turns=False)
    session.stream = await open_stream(port, f"/events/{sid}")
    async with asyncio.timeout(WAIT):
        await session.stream.opened  # headers: the handler is running and its queue exists
    return session
