"""The deterministic "model": reads the system prompt's position block and the last answer."""

from __future__ import annotations

import re
from typing import Any

from runtime.engines.prompt import ANSWER_TAG, POSITION_HEADING

PROBES = (
    "Could you tell me a bit more about that?",
    "What makes you say that?",
    "Is there anything else you would add?",
)
THIN_WORDS = 4


def reply(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> tuple[str, dict[str, Any] | None]:
    """The reply text and the tool call arguments (None when no tool was offered)."""
    system = next((str(m["content"]) for m in messages if m["role"] == "system"), "")
    position = _position(system)
    answer = _last_answer(messages)
    allowed = [m.strip() for m in position.get("Allowed moves", "").split(",") if m.strip()]
    next_id = position.get("Next item", "none").split(" ")[0]
    next_text = position.get("Next item text", "")
    if position.get("Current item", "").startswith("none"):
        text, move = next_text, {"move": "next", "item_id": next_id}
    elif "probe" in allowed and _thin(answer) and "(open_ended)" in position["Current item"]:
        # Like an interviewer, it does not ask the same follow-up twice.
        said = {str(m["content"]) for m in messages if m["role"] == "assistant"}
        options = [position.get("Suggested follow-up", ""), *PROBES]
        text = next((p for p in options if p and p not in said), PROBES[-1])
        move = {"move": "probe"}
    elif "next" in allowed:
        text, move = f"Thank you. {next_text}", {"move": "next", "item_id": next_id}
    else:
        text, move = "Thank you, that is really helpful.", {"move": "close"}
    if not tools:
        return text, None
    return text, move


def _position(system: str) -> dict[str, str]:
    """`Label: value` lines after the position heading; quoted (`> `) lines continue a value."""
    _, _, block = system.partition(POSITION_HEADING)
    fields: dict[str, str] = {}
    label = ""
    for line in block.splitlines():
        if line.startswith("> ") or line == ">":
            fields[label] = (fields.get(label, "") + "\n" + line[2:]).strip("\n")
            continue
        name, sep, value = line.partition(":")
        if sep:
            label = name.strip()
            fields[label] = value.strip()
    return fields


def _last_answer(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return re.sub(rf"</?{ANSWER_TAG}>", "", str(message["content"]))
    return ""


def _thin(answer: str) -> bool:
    return len(answer.split()) < THIN_WORDS


def tokens(text: str) -> list[str]:
    """Word-sized pieces that join back to `text`, as a tokenizer's output would."""
    return re.findall(r"\S+\s*|\s+", text)
