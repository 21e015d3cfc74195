"""The deterministic "model": reads the system prompt's position block and the last answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from runtime.engines.prompt import ANSWER_TAG, GUIDANCE_HEADING, POSITION_HEADING

PROBES = (
    "Could you tell me a bit more about that?",
    "What makes you say that?",
    "Is there anything else you would add?",
)
THIN_WORDS = 4
# A paraphrase names an option by a word's first letters ("every week" → "Weekly"), and the
# model says it is less sure of that than of "2" or "Pro".
STEM = 4
EXACT, PARAPHRASE = 1.0, 0.7
GOODBYE = "Thanks! Anything else you want to add?"
BAD_OPTION = "Platinum"
BAD_CONFIDENCE = 0.95
UNKNOWN_ITEM = "Q99"


@dataclass(frozen=True)
class Move:
    """What the behaving model decides: its move, the value it reads, and its words."""

    move: str
    message: str
    item_id: str | None = None
    value: str | int | None = None
    confidence: float | None = None
    covered: tuple[str, ...] = ()

    def arguments(self, with_message: bool = True) -> dict[str, Any]:
        """The record_move arguments in the order the protocol has them written."""
        out: dict[str, Any] = {"value": self.value, "confidence": self.confidence}
        out["move"] = self.move
        if self.item_id is not None:
            out["item_id"] = self.item_id
        if self.covered:
            out["covered_item_ids"] = list(self.covered)
        if with_message:
            out["message"] = self.message
        return out


@dataclass(frozen=True)
class Reply:
    """What the model writes: plain content, and the tool call's arguments (None: no call)."""

    content: str
    arguments: dict[str, Any] | None


@dataclass(frozen=True)
class Position:
    """The system prompt's position block, read as the model reads it."""

    fields: dict[str, str]

    @property
    def current(self) -> str:
        return self.fields.get("Current item", "")

    @property
    def opening(self) -> bool:
        return self.current.startswith("none") or not self.current

    @property
    def question_type(self) -> str:
        # The first word in brackets: "(multiple_choice)" or "(multiple_choice, required)".
        found = re.search(r"\((\w+)", self.current)
        return found.group(1) if found else ""

    @property
    def allowed(self) -> list[str]:
        return [m.strip() for m in self.fields.get("Allowed moves", "").split(",") if m.strip()]

    @property
    def next_id(self) -> str:
        return self.fields.get("Next item", "none").split(" ")[0]

    @property
    def next_text(self) -> str:
        return self.fields.get("Next item text", "")

    @property
    def options(self) -> list[str]:
        """`Options: 1. Free; 2. Pro; 3. Team` (choice items; empty when the prompt has none)."""
        return [o.strip() for o in re.findall(r"\d+\.\s*([^;]+)", self.fields.get("Options", ""))]

    @property
    def scale(self) -> tuple[int, int] | None:
        """`Scale: 1 to 5` (rating items; None when the prompt has none)."""
        found = re.match(r"(-?\d+)\s+to\s+(-?\d+)", self.fields.get("Scale", ""))
        return (int(found.group(1)), int(found.group(2))) if found else None


def behave(messages: list[dict[str, Any]]) -> tuple[Position, Move]:
    """The behaving model's move for this conversation."""
    system = next((str(m["content"]) for m in messages if m["role"] == "system"), "")
    position = Position(_position(system))
    answer = _last_answer(messages)
    allowed = position.allowed
    forward = _forward(position)
    if position.opening:
        return position, Move("next", position.next_text, position.next_id)
    if position.question_type in ("multiple_choice", "rating"):
        value, confidence = resolve(answer, position.options, position.scale)
        readable = bool(position.options) or position.scale is not None
        if value is None and readable and "reask" in allowed:
            return position, Move("reask", _reask(position))
        return position, _with_value(forward, value, confidence)
    if "probe" in allowed and _thin(answer) and position.question_type == "open_ended":
        # Like an interviewer, it does not ask the same follow-up twice.
        said = {str(m["content"]) for m in messages if m["role"] == "assistant"}
        options = [position.fields.get("Suggested follow-up", ""), *PROBES]
        text = next((p for p in options if p and p not in said), PROBES[-1])
        return position, Move("probe", text)
    return position, forward


def _forward(position: Position) -> Move:
    """On to the next item, or the close after the last."""
    if "next" in position.allowed:
        return Move("next", f"Thank you. {position.next_text}", position.next_id)
    return Move("close", "Thank you, that is really helpful.")


def _with_value(move: Move, value: str | int | None, confidence: float | None) -> Move:
    return Move(move.move, move.message, move.item_id, value, confidence, move.covered)


def _reask(position: Position) -> str:
    if position.options:
        listed = "; ".join(f"{n}. {o}" for n, o in enumerate(position.options, 1))
        return f"Sorry, which of these fits best: {listed}?"
    low, high = position.scale or (1, 5)
    return f"Sorry, could you give me a number from {low} to {high}?"


def resolve(
    answer: str, options: list[str], scale: tuple[int, int] | None
) -> tuple[str | int | None, float | None]:
    """The option or number an answer gives, and how sure of it the model is."""
    cleaned = answer.strip().strip(".!").casefold()
    number = int(cleaned) if re.fullmatch(r"-?\d{1,6}", cleaned) else None
    if options:
        if number is not None and 1 <= number <= len(options):
            return options[number - 1], EXACT
        for option in options:
            if cleaned == option.casefold():
                return option, EXACT
        words = re.findall(r"\w+", cleaned)
        for option in options:
            stems = [w[:STEM] for w in re.findall(r"\w+", option.casefold()) if len(w) >= 3]
            if any(word.startswith(stem) for stem in stems for word in words):
                return option, PARAPHRASE
        return None, None
    if scale is not None:
        low, high = scale
        if number is not None:
            return (number, EXACT) if low <= number <= high else (None, None)
        found = [int(n) for n in re.findall(r"-?\d{1,6}", cleaned) if low <= int(n) <= high]
        if found:
            return found[0], PARAPHRASE
    return None, None


def reply(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, mode: str | None = None
) -> Reply:
    """What the model writes for this conversation, behaving (`mode` None) or in a misbehaving
    mode of server.MODES; the failure modes write what the behaving model writes."""
    position, move = behave(messages)
    if not tools:
        return Reply(move.message, None)
    answers = sum(1 for m in messages if m["role"] == "user")
    if mode == "no-tool":
        return Reply(move.message, None)
    if mode == "content-then-tool":
        return Reply(move.message, move.arguments(with_message=False))
    if mode == "both":
        return Reply(move.message, move.arguments())
    if mode == "unknown-item" and move.move == "next":
        return Reply("", Move("next", move.message, UNKNOWN_ITEM).arguments())
    if mode == "close-early" and answers == 1:
        return Reply("", Move("close", GOODBYE, value=move.value).arguments())
    if mode == "json-content":
        text = json.dumps(move.arguments())
        # Fenced every other turn: some models write a Markdown code block, some bare JSON.
        said = sum(1 for m in messages if m["role"] == "assistant")
        return Reply(f"```json\n{text}\n```" if said % 2 else text, None)
    if mode == "wrong-move" and move.move == "next" and not position.opening:
        return Reply("", Move("next", PROBES[0], move.item_id, move.value).arguments())
    if mode == "leak-guidance" and (told := guidance(str(messages[0]["content"]))):
        said = "Of course! The researcher told me: " + " ".join(told) + " Anyway, go on."
        return Reply("", Move("probe", said, position.current).arguments())
    if mode == "message-first":
        arguments = move.arguments()
        return Reply("", {"message": arguments.pop("message"), **arguments})
    if mode == "bad-value" and position.question_type in ("multiple_choice", "rating"):
        forward = _forward(position)
        scale = position.scale
        bad: str | int = BAD_OPTION if position.options or not scale else scale[1] + 1
        return Reply("", _with_value(forward, bad, BAD_CONFIDENCE).arguments())
    return Reply("", move.arguments())


def guidance(system: str) -> list[str]:
    """The researcher's instructions the system prompt holds (its guidance block's items)."""
    _, found, block = system.partition(GUIDANCE_HEADING)
    if not found:
        return []
    block = block.split("\n\n", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("- ")]


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
