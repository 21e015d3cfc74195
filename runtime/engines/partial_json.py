"""Reads a JSON object as it streams in: each top-level field once it is complete, and a
string field's text piece by piece as it arrives (so a reply written inside a tool call's
arguments can be shown token by token, and its move known as soon as it is written)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal


class PartialJsonError(ValueError):
    """The stream is not one JSON object (or ended before the object did)."""


@dataclass(frozen=True)
class TextPiece:
    """More of a top-level string field's value, decoded (escapes resolved)."""

    name: str
    text: str


@dataclass(frozen=True)
class FieldValue:
    """A top-level field, complete."""

    name: str
    value: Any


Event = TextPiece | FieldValue
_State = Literal["start", "key_or_end", "key", "colon", "value", "string", "other", "after", "done"]
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WHITESPACE = " \t\r\n"


class PartialObject:
    """Feed it the object's text in any pieces; it returns what each piece completed."""

    def __init__(self) -> None:
        self._state: _State = "start"
        self._key = ""
        self._text: list[str] = []  # decoded text of the current string not yet told
        self._told: list[str] = []  # decoded text of the current string already told
        self._escape: str | None = None  # an escape begun in one piece, ended in another
        self._high: str | None = None  # a high surrogate waiting for its low half
        self._raw: list[str] = []  # a non-string value's text
        self._depth = 0
        self._in_string = False  # inside a string nested in a non-string value
        self._nested_escape = False
        self.fields: dict[str, Any] = {}

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, chunk: str) -> list[Event]:
        events: list[Event] = []
        for char in chunk:
            self._step(char, events)
        if self._state == "string" and self._text:
            self._tell(events)
        return events

    def close(self) -> dict[str, Any]:
        """The whole object; PartialJsonError if the stream stopped before it ended."""
        if self._state != "done":
            raise PartialJsonError("the JSON object did not end")
        return self.fields

    def _step(self, char: str, events: list[Event]) -> None:
        state = self._state
        if state in ("key", "string"):
            self._string_char(char, events)
        elif state == "other":
            self._other_char(char, events)
        elif char in _WHITESPACE or state == "done":
            return  # a model may write more after the object (a closing fence): not ours
        elif state == "start":
            self._expect(char, "{")
            self._state = "key_or_end"
        elif state == "key_or_end":
            if char == "}" and not self.fields:
                self._state = "done"
            else:
                self._expect(char, '"')
                self._state = "key"
        elif state == "colon":
            self._expect(char, ":")
            self._state = "value"
        elif state == "value":
            if char == '"':
                self._state = "string"
            else:
                self._state = "other"
                self._other_char(char, events)
        elif state == "after":
            if char == ",":
                self._state = "key_or_end"
            else:
                self._expect(char, "}")
                self._state = "done"

    def _string_char(self, char: str, events: list[Event]) -> None:
        if self._escape is not None:
            self._escape += char
            if self._escape[0] == "u" and len(self._escape) < 5:
                return
            self._decoded(self._unescape(self._escape))
            self._escape = None
        elif char == "\\":
            self._escape = ""
        elif char == '"':
            self._decoded("")
            self._end_string(events)
        elif char < " ":
            raise PartialJsonError("a control character inside a string")
        else:
            self._decoded(char)

    def _unescape(self, escape: str) -> str:
        if escape[0] == "u":
            try:
                return chr(int(escape[1:], 16))
            except ValueError:
                raise PartialJsonError(f"a bad escape: \\{escape}") from None
        if escape not in _ESCAPES:
            raise PartialJsonError(f"a bad escape: \\{escape}")
        return _ESCAPES[escape]

    def _decoded(self, text: str) -> None:
        """Decoded text, pairing surrogates written as two escapes (a lone one is U+FFFD)."""
        if self._high is not None:
            high, self._high = self._high, None
            if text and "\udc00" <= text <= "\udfff":
                self._text.append((high + text).encode("utf-16", "surrogatepass").decode("utf-16"))
                return
            self._text.append("\ufffd")
        if text and "\ud800" <= text <= "\udbff":
            self._high = text
        elif text and "\udc00" <= text <= "\udfff":
            self._text.append("\ufffd")
        elif text:
            self._text.append(text)

    def _tell(self, events: list[Event]) -> None:
        """The string value's text decoded since it was last told, as one piece."""
        piece = "".join(self._text)
        self._told.append(piece)
        self._text = []
        events.append(TextPiece(self._key, piece))

    def _end_string(self, events: list[Event]) -> None:
        if self._state == "key":
            self._key = "".join(self._text)
            self._text = []
            self._state = "colon"
            return
        if self._text:
            self._tell(events)
        value = "".join(self._told)
        self._told = []
        self._finish(value, events)

    def _other_char(self, char: str, events: list[Event]) -> None:
        if self._in_string:
            self._raw.append(char)
            if self._nested_escape:
                self._nested_escape = False
            elif char == "\\":
                self._nested_escape = True
            elif char == '"':
                self._in_string = False
            return
        if self._depth == 0 and char in ",}":
            raw = "".join(self._raw).strip()
            self._raw = []
            try:
                value = json.loads(raw)
            except ValueError:
                raise PartialJsonError(f"{self._key} is not a JSON value") from None
            self._finish(value, events)
            self._step(char, events)
            return
        self._raw.append(char)
        if char == '"':
            self._in_string = True
        elif char in "[{":
            self._depth += 1
        elif char in "]}":
            self._depth -= 1
            if self._depth < 0:
                raise PartialJsonError("a bracket closed that was never opened")

    def _expect(self, char: str, wanted: str) -> None:
        if char != wanted:
            raise PartialJsonError(f"expected {wanted!r}, found {char!r}")

    def _finish(self, value: Any, events: list[Event]) -> None:
        self.fields[self._key] = value
        events.append(FieldValue(self._key, value))
        self._state = "after"
