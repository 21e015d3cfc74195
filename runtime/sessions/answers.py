"""What a stored message says it was: a turn's move, an answer's value, how it was said."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from runtime.platform.views import Meta, View
from runtime.vocabulary import (
    MOVES,
    AnswerKind,
    Author,
    Modality,
    Move,
    ResolvedBy,
    ValueStatus,
)

# What a transcript shows beside an unresolved answer (no option or number after the re-asks).
NO_VALUE = "no valid answer recorded"


class Answer(View):
    """What a respondent message answered, and the value read from it (choice and rating)"""

    kind: Annotated[
        AnswerKind,
        Meta(description="The turn it answered: the item's question, a probe of it, or a re-ask"),
    ]
    value: Annotated[
        str | int | None,
        Meta(
            description="The option's label (multiple choice) or the number on the scale "
            "(rating); null for open-ended items and while none is recorded"
        ),
    ] = None
    value_status: Annotated[
        ValueStatus | None,
        Meta(
            description="resolved: `value` holds it; invalid: it maps to no option or is off "
            "the scale, so the item is asked again; unresolved: still none after the re-asks, "
            "recorded and moved past; null for open-ended items and until the next "
            "interviewer turn is committed"
        ),
    ] = None
    confidence: Annotated[
        float | None,
        Meta(description="How sure the mapping to `value` is, 0 to 1 (null when none was made)"),
    ] = None
    resolved_by: Annotated[
        ResolvedBy | None,
        Meta(
            description="Who read the value: rule (the runtime's own matching of a label or "
            "number) or model (the LLM mapped a paraphrase)"
        ),
    ] = None


def answer_of(message: Mapping[Any, Any]) -> Answer | None:
    """The respondent message's answer, from metadata["answer"]; None for interviewer
    messages and for those stored before answers were recorded (or malformed ones)."""
    found = (message.get("metadata") or {}).get("answer")
    if message.get("role") != "respondent" or not isinstance(found, dict):
        return None
    try:
        return msgspec.convert(found, Answer)
    except msgspec.ValidationError:
        # A stored row is shown as it can be, never refused: its text stays, its value goes.
        return None


def move_of(message: Mapping[Any, Any]) -> Move | None:
    """The interviewer message's move, from metadata["move"]; None when it has none."""
    found = (message.get("metadata") or {}).get("move")
    if message.get("role") != "interviewer" or found not in MOVES:
        return None
    move: Move = found
    return move


def recorded(answer: Answer | None) -> str | None:
    """What a transcript shows beside the answer: its value, NO_VALUE when it has none after
    the re-asks, None when there is nothing to show (open-ended, invalid, not read yet)."""
    if answer is None:
        return None
    if answer.value_status == "resolved" and answer.value is not None:
        return str(answer.value)
    if answer.value_status == "unresolved":
        return NO_VALUE
    return None


class MessageAudio(View):
    """A voice message's stored audio (Ogg Opus, mono); its signed download link is the
    `voice` item of `GET /v1/sessions/{id}/files` with this message's id"""

    content_type: str
    duration_ms: Annotated[int, Meta(ge=0)]
    offset_ms: Annotated[
        int, Meta(description="Where the clip begins, in ms after the session started", ge=0)
    ]
    size_bytes: Annotated[int, Meta(ge=0)]


def modality_of(message: Mapping[Any, Any]) -> Modality:
    """How the message was said; "text" for messages stored before voice mode."""
    return "voice" if (message.get("metadata") or {}).get("modality") == "voice" else "text"


def audio_of(message: Mapping[Any, Any]) -> MessageAudio | None:
    """A voice message's audio, from metadata["audio"]; None for text (or malformed) ones."""
    found = (message.get("metadata") or {}).get("audio")
    if modality_of(message) != "voice" or not isinstance(found, dict):
        return None
    try:
        return msgspec.convert(found, MessageAudio)
    except msgspec.ValidationError:
        return None


def interrupted_of(message: Mapping[Any, Any]) -> bool:
    """Whether an interviewer turn was cut by a barge-in (its content is what was heard)."""
    return message.get("role") == "interviewer" and bool(
        (message.get("metadata") or {}).get("interrupted")
    )


def author_of(message: Mapping[Any, Any]) -> Author | None:
    """Who wrote an interviewer turn: `researcher` (a takeover) or `ai` (every turn stored
    before authors were); None for the respondent's messages."""
    if message.get("role") != "interviewer":
        return None
    return "researcher" if message.get("author") == "researcher" else "ai"


def audio_key_of(message: Mapping[Any, Any]) -> str | None:
    """The blob key of a voice message's clip."""
    found = (message.get("metadata") or {}).get("audio")
    key = found.get("key") if isinstance(found, dict) else None
    return key if isinstance(key, str) and modality_of(message) == "voice" else None
