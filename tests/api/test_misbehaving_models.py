"""Models that misbehave, over SSE and WebSocket: what the respondent sees and what is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import (
    TRANSPORTS,
    SeenTurn,
    Transport,
    published_interview,
    questions_in,
    recorded_answer,
    start_session,
    talking,
)
from tests.upstream.server import MISBEHAVIOURS

# Every question text holds exactly one question mark, so a turn with two asks two things.
GUIDE: list[dict[str, Any]] = [
    {
        "text": "What do you use the app for?",
        "question_type": "open_ended",
        "probe_budget": 1,
        "follow_up": "Can you give me a recent example?",
        "required": True,
    },
    {
        "text": "Which plan are you on?",
        "question_type": "multiple_choice",
        "options": ["Free", "Pro", "Team"],
        "required": True,
    },
    {"text": "How would you rate the setup?", "question_type": "rating", "required": False},
    {"text": "What would you change first?", "question_type": "open_ended", "required": True},
]
ITEMS = {f"Q{n}": item for n, item in enumerate(GUIDE, 1)}
CHOICE, RATING = "Q2", "Q3"
# What the respondent says to each item, in order; asked again, they repeat the last.
SCRIPT = {
    "Q1": ["ok", "We plan every sprint in it and the whole team reviews the board on Mondays."],
    "Q2": ["mostly the permissions step", "2"],
    "Q3": ["4"],
    "Q4": ["I would make inviting people simpler, half my team got lost in the permissions."],
}
MAX_ANSWERS = 10  # the script needs 6; a few re-asks or revisits fit, a loop does not
# What the protocol writes around a reply: seen in a turn, the model's JSON reached the screen.
PROTOCOL = ('"move"', '"message"', "```")
# The kind of answer a turn's move asks for (docs/coverage.md, the answer contract).
KIND_OF = {"open": "question", "ask": "question", "probe": "probe", "reask": "reask"}
MODELS = ["mock", *(f"mock:{mode}" for mode in MISBEHAVIOURS if mode != "in-arguments")]


@dataclass
class Run:
    turns: list[SeenTurn]
    status: str
    transcript: dict[str, Any]


def asked_item(content: str, before: str | None) -> str | None:
    """The item a respondent takes a turn to ask: the last question (or choice list) it shows;
    a turn that shows none (a probe, a re-ask in other words) is about the same item."""
    shown: dict[str, int] = {}
    for item_id, item in ITEMS.items():
        at = content.rfind(item["text"])
        options = item.get("options") or []
        if options and all(o in content for o in options):
            at = max(at, content.rfind(options[-1]))
        if at >= 0:
            shown[item_id] = at
    return max(shown, key=shown.__getitem__) if shown else before


async def interview(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, transport: Transport, model: str
) -> Run:
    published = await published_interview(client, guide=GUIDE, engine="llm", model=model)
    respondent = await start_session(anon, published["share_token"])
    turns: list[SeenTurn] = []
    given = dict.fromkeys(SCRIPT, 0)
    status = "in_progress"
    async with talking(transport, respondent) as talk:
        item: str | None = None
        for answered in range(MAX_ANSWERS + 1):
            turns.append(await talk.turn())
            # The turn is committed before its turn.completed: the status is already known.
            status = (await client.get(f"/v1/sessions/{respondent.id}")).json()["status"]
            if status != "in_progress" or answered == MAX_ANSWERS:
                break
            item = asked_item(turns[-1].content, item)
            assert item is not None, f"the opening asks no item: {turns[-1].content!r}"
            script = SCRIPT[item]
            await talk.say(script[min(given[item], len(script) - 1)])
            given[item] += 1
    transcript = (await client.get(f"/v1/sessions/{respondent.id}/transcript")).json()
    return Run(turns, status, transcript)


def valid(item_id: str | None, value: Any) -> bool:
    item = ITEMS.get(item_id or "")
    if item is None or value is None:
        return False
    if item["question_type"] == "multiple_choice":
        return value in item["options"]
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def violations(run: Run) -> list[str]:
    """Every respondent-visible invariant the run breaks, in words."""
    out: list[str] = []
    messages = run.transcript["messages"]
    said = [m for m in messages if m["role"] == "interviewer"]
    if run.status != "completed":
        out.append(f"not completed within {MAX_ANSWERS} answers (status {run.status})")
    if [t.content for t in run.turns] != [m["content"] for m in said]:
        out.append("the turns seen are not the interviewer messages stored")
    for n, turn in enumerate(run.turns):
        if turn.streamed != turn.content:
            out.append(f"turn {n}: streamed {turn.streamed!r} but committed {turn.content!r}")
        if questions_in(turn.content) > 1:
            out.append(f"turn {n} asks more than one question: {turn.content!r}")
        if any(mark in turn.content for mark in PROTOCOL):
            out.append(f"turn {n} shows the model's JSON: {turn.content!r}")
    if run.status == "completed" and said and questions_in(said[-1]["content"]):
        out.append(f"the closing turn asks a question: {said[-1]['content']!r}")
    previous: dict[str, Any] | None = None
    resolved: dict[str, Any] = {}
    for index, message in enumerate(messages):
        if message["role"] == "interviewer":
            previous = message
            move = (message.get("metadata") or {}).get("move")
            item = ITEMS.get(message["item_id"] or "")
            shown = item is None or item["text"] in message["content"]
            if move in ("open", "ask") and not shown:
                out.append(f"a turn filed as asking {message['item_id']} does not show it: "
                           f"{message['content']!r}")  # fmt: skip
            continue
        asked = previous["item_id"] if previous else None
        if message["item_id"] != asked:
            out.append(f"answer {message['content']!r} filed under {message['item_id']}, "
                       f"the turn before asked {asked}")  # fmt: skip
        answer = recorded_answer(run.transcript, index)
        move = ((previous or {}).get("metadata") or {}).get("move")
        if answer.get("kind") != KIND_OF.get(move):
            kind = answer.get("kind")
            out.append(f"answer {message['content']!r} after a {move} has kind {kind}")
        item_id = message["item_id"]
        if item_id not in (CHOICE, RATING):
            continue
        value, status = answer.get("value"), answer.get("value_status")
        if value is not None and not valid(item_id, value):
            out.append(f"{item_id} answer {message['content']!r} recorded as {value!r}")
        if status == "resolved" and valid(item_id, value):
            resolved[item_id] = value
        expected = {("Q2", "2"): "Pro", ("Q3", "4"): 4}.get((item_id, message["content"]))
        if expected is not None and (value != expected or status not in ("resolved", None)):
            out.append(f"{item_id} answer {message['content']!r} recorded as {value!r} "
                       f"({status}), not {expected!r}")  # fmt: skip
        if message["content"] == SCRIPT[CHOICE][0] and status == "resolved":
            out.append(f"{message['content']!r} resolved to {value!r}: it names no option")
    if run.status == "completed" and CHOICE not in resolved:
        out.append(f"closed with the required {CHOICE} unresolved")
    return out


def dump(run: Run) -> str:
    lines = []
    for index, m in enumerate(run.transcript["messages"]):
        move = (m.get("metadata") or {}).get("move", "")
        extra = "" if m["role"] == "interviewer" else f" {recorded_answer(run.transcript, index)}"
        lines.append(f"  {m['role'][:4]} {m['item_id']} {move}: {m['content']!r}{extra}")
    return "\n".join(lines)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", MODELS)
async def test_whatever_the_model_does_the_respondent_is_asked_one_thing_at_a_time(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, transport: Transport, model: str
) -> None:
    run = await interview(client, anon, transport, model)
    broken = violations(run)
    assert not broken, "\n".join([*broken, "transcript:", dump(run)])


def m(role: str, item: str | None, content: str, move: str = "", **answer: Any) -> Any:
    """A transcript message as the contract stores it."""
    meta = {"move": move} if role == "interviewer" else {"answer": answer}
    return {"role": role, "item_id": item, "content": content, "metadata": meta}


def faked(messages: list[dict[str, Any]], status: str = "completed") -> Run:
    said = [x for x in messages if x["role"] == "interviewer"]
    turns = [SeenTurn(x["content"], x["content"], x["item_id"]) for x in said]
    return Run(turns, status, {"messages": messages, "turns": []})


def test_the_invariants_hold_for_the_interview_the_issue_asks_for() -> None:
    # The checks themselves, on the run a right engine gives: nothing is reported.
    q1, q2 = ITEMS["Q1"]["text"], ITEMS["Q2"]["text"]
    resolved = {"value_status": "resolved", "confidence": 1.0, "resolved_by": "model"}
    run = faked([
        m("interviewer", "Q1", f"Hi, thanks for joining!\n\n{q1}", "open"),
        m("respondent", "Q1", "ok", kind="question"),
        m("interviewer", "Q1", ITEMS["Q1"]["follow_up"], "probe"),
        m("respondent", "Q1", SCRIPT["Q1"][1], kind="probe"),
        m("interviewer", "Q2", f"Thank you. {q2}\n1. Free\n2. Pro\n3. Team", "ask"),
        m("respondent", "Q2", SCRIPT["Q2"][0], kind="question", value=None,
          value_status="invalid"),
        m("interviewer", "Q2", "Sorry, which of these fits best: 1. Free; 2. Pro; 3. Team?",
          "reask"),
        m("respondent", "Q2", "2", kind="reask", value="Pro", **resolved),
        m("interviewer", "Q3", f"Thank you. {ITEMS['Q3']['text']}", "ask"),
        m("respondent", "Q3", "4", kind="question", value=4, **resolved),
        m("interviewer", "Q4", f"Thank you. {ITEMS['Q4']['text']}", "ask"),
        m("respondent", "Q4", SCRIPT["Q4"][0], kind="question", value=None, value_status=None),
        m("interviewer", None, "Thank you, that is really helpful.\n\nThat's all, thank you!",
          "close"),
    ])  # fmt: skip
    assert violations(run) == []
    # The respondent takes each turn to be about the item filed with it.
    item = None
    for turn in run.turns[:-1]:
        item = asked_item(turn.content, item)
        assert item == turn.item_id, turn.content


def test_the_invariants_catch_what_the_issue_saw() -> None:
    # The checks themselves: a run with the issue's faults breaks each of them.
    run = faked([
        m("interviewer", "Q1", "Hi!\n\nWhat do you use the app for?", "open"),
        m("respondent", "Q1", "ok", kind="question"),
        m("interviewer", "Q2", "Could you tell me more? Which plan are you on?", "ask"),
        m("respondent", "Q3", "mostly the permissions step", kind="question", value="Platinum",
          value_status="resolved"),
        m("interviewer", None, 'Anything else? {"move": "close"}', "close"),
    ])  # fmt: skip
    run.turns[0].streamed = "Hi!"
    found = "\n".join(violations(run))
    assert "streamed 'Hi!'" in found
    assert "turn 1 asks more than one question" in found
    assert "the closing turn asks a question" in found
    assert "turn 2 shows the model's JSON" in found
    assert "filed under Q3, the turn before asked Q2" in found
    assert "closed with the required Q2 unresolved" in found
    assert "Q3 answer 'mostly the permissions step' recorded as 'Platinum'" in found
    assert asked_item("Could you tell me a bit more about that?", "Q1") == "Q1"
    assert asked_item("Sorry, please pick one: 1. Free; 2. Pro; 3. Team", "Q2") == "Q2"
