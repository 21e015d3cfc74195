"""One streamed completion read as it arrives: the move's fields and the words, wherever
the model writes them (the tool call's arguments, JSON written as text, or plain text)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from runtime.engines.gate import Field, ModelOutput, Plain, Words
from runtime.engines.partial_json import FieldValue, PartialJsonError, PartialObject, TextPiece
from runtime.platform.text import storable


@dataclass
class Reading:
    """What one streamed completion produced, read into the gate's outputs as it arrives."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_at: float | None = None
    tool_args: dict[int, list[str]] = field(default_factory=dict)
    # The first tool call's arguments, read as they stream (None once they are not JSON).
    arguments: PartialObject | None = field(default_factory=PartialObject)
    # Plain content: its start, until it shows whether it is text or a JSON move.
    content: str = ""
    content_kind: Literal["text", "json", "broken"] | None = None
    content_json: PartialObject = field(default_factory=PartialObject)
    # Which gives the move, once one has: the tool call, or JSON written as content.
    source: Literal["arguments", "content"] | None = None

    def arrived(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()

    def from_arguments(self, fragment: str) -> list[ModelOutput]:
        if self.arguments is None or self.source == "content":
            return []
        try:
            events = self.arguments.feed(fragment)
        except PartialJsonError:
            self.arguments = None
            return []
        return self._read(events, "arguments")

    def from_content(self, piece: str) -> list[ModelOutput]:
        if self.content_kind == "text":
            return [Plain(storable(piece))]
        if self.content_kind == "json":
            return self._json(piece)
        if self.content_kind == "broken":
            return []
        self.content += piece
        start = self.content.lstrip()
        if start.startswith("{"):
            self.content_kind = "json"
            return self._json(start)
        if start.startswith("```"):
            if "\n" not in start:
                return []  # the fence's first line: ```json
            self.content_kind = "json"
            return self._json(start.split("\n", 1)[1])
        if not start or "```".startswith(start):
            return []
        self.content_kind = "text"
        return [Plain(storable(self.content))]

    def _json(self, text: str) -> list[ModelOutput]:
        try:
            events = self.content_json.feed(text)
        except PartialJsonError:
            self.content_kind = "broken"  # neither a move nor words to show: held back
            return []
        return [] if self.source == "arguments" else self._read(events, "content")

    def _read(
        self, events: list[FieldValue | TextPiece], source: Literal["arguments", "content"]
    ) -> list[ModelOutput]:
        out: list[ModelOutput] = []
        for event in events:
            if isinstance(event, TextPiece):
                if event.name == "message":
                    out.append(Words(storable(event.text)))
            elif event.name != "message":
                out.append(Field(event.name, event.value))
        if out:
            self.source = source
        return out

    def after_stream(self) -> list[ModelOutput]:
        """Arguments that could not be read as they streamed, read whole (json.loads)."""
        if self.arguments is not None or self.source is not None:
            return []
        proposal = _proposal(self.tool_args)
        if proposal is None:
            return []
        out: list[ModelOutput] = [Field(k, v) for k, v in proposal.items() if k != "message"]
        if isinstance(proposal.get("message"), str):
            out.append(Words(storable(proposal["message"])))
        return out


def _proposal(tool_args: dict[int, list[str]]) -> dict[str, Any] | None:
    for index in sorted(tool_args):
        try:
            value = json.loads("".join(tool_args[index]) or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None
