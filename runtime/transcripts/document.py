"""A session's transcript as data: question → answer turns, plain text, Markdown, fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from runtime.platform.clock import iso, parse, readable
from runtime.platform.views import Meta, Timestamp, View
from runtime.sessions.answers import (
    Answer,
    answer_of,
    author_of,
    interrupted_of,
    modality_of,
    move_of,
    recorded,
)
from runtime.sessions.notes import Note
from runtime.transcripts import neutralize
from runtime.vocabulary import AnswerKind, Modality, Move, ValueStatus


def _stamp(value: datetime | str) -> str:
    return readable(parse(value, "timestamp") if isinstance(value, str) else value)


FORMATS = ("json", "txt", "md")
INDENT = "  "  # what was said, in the plain-text transcript
# Goes up whenever txt or md render differently: stored renderings are kept by transcript
# fingerprint, so a new one makes every session's files render again (artifacts.py).
RENDERING = 3  # 3: a recorded value beside its answer
RECORDED = "→"  # before the value recorded from an answer, in txt and md
ROLE_LABEL = {"interviewer": "Interviewer", "respondent": "Respondent"}
# A researcher's note on a message, in txt and md: outside what was said, so never a quote.
NOTE_MARK = "✎"
NOTES = "researcher_notes"  # where a loaded message carries the notes on it


def attach_notes(messages: Sequence[dict[str, Any]], found: Sequence[Note]) -> list[Note]:
    """Puts each note on its message (under NOTES); returns those on the session as a whole."""
    on_message: dict[str, list[Note]] = {}
    whole: list[Note] = []
    for note in found:
        if note.message_id is None:
            whole.append(note)
        else:
            on_message.setdefault(note.message_id, []).append(note)
    for m in messages:
        if m["id"] in on_message:
            m[NOTES] = on_message[m["id"]]
    return whole


def note_line(note: Note) -> str:
    """How a rendered transcript says a note: whose it is, then what it says."""
    what = "Researcher bookmark" if note.kind == "bookmark" else "Researcher note"
    return f"{what}: {note.body}" if note.body else what


def notes_of(message: Mapping[str, Any]) -> list[str]:
    return [note_line(n) for n in message.get(NOTES) or ()]


def note_fields(whole: Sequence[Note]) -> list[tuple[str, str]]:
    """The notes on the session as a whole, as metadata rows of its rendered transcript."""
    return [
        ("Researcher bookmark" if n.kind == "bookmark" else "Researcher note", n.body)
        for n in whole
    ]


class Turn(View):
    item_id: Annotated[str | None, Meta(description="The guide item asked about")]
    question: Annotated[str | None, Meta(description="What the interviewer said")]
    asked_at: Timestamp | None
    answer: Annotated[str | None, Meta(description="The respondent's reply (null if unanswered)")]
    answered_at: Timestamp | None
    move: Annotated[
        Move | None,
        Meta(description="What the interviewer's turn did (null if not recorded: older turns)"),
    ] = None
    answer_kind: Annotated[
        AnswerKind | None,
        Meta(description="The reply answered the item's question, a probe or a re-ask"),
    ] = None
    value: Annotated[
        str | int | None,
        Meta(description="The option or number recorded from the reply (choice and rating)"),
    ] = None
    value_status: Annotated[
        ValueStatus | None,
        Meta(description="resolved, invalid (asked again) or unresolved; null if none applies"),
    ] = None
    confidence: Annotated[float | None, Meta(description="How sure the mapping to value is")] = None
    question_modality: Annotated[
        Modality | None,
        Meta(description="How the interviewer's turn was given: voice (spoken) or text"),
    ] = None
    answer_modality: Annotated[
        Modality | None,
        Meta(description="How the reply was given: voice if any of it was spoken, else text"),
    ] = None
    interrupted: Annotated[
        bool,
        Meta(description="The respondent cut the spoken turn short: question is what was heard"),
    ] = False


def said(message: Mapping[str, Any]) -> str:
    """How a rendered transcript labels the way a message was said, and by whom when not
    by the AI: "" when typed by it (as every message was before voice mode), "voice",
    "voice, interrupted", "researcher" (a turn a researcher wrote in a takeover)."""
    labels = []
    if modality_of(message) == "voice":
        labels.append("voice, interrupted" if interrupted_of(message) else "voice")
    if author_of(message) == "researcher":
        labels.append("researcher")
    return ", ".join(labels)


def turns(messages: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """Each interviewer message with the respondent's reply to it (None when unanswered)."""
    out: list[Turn] = []
    for message in messages:
        if message["role"] == "interviewer":
            out.append(
                Turn(
                    item_id=message["item_id"],
                    question=message["content"],
                    move=move_of(message),
                    asked_at=message["created_at"],
                    answer=None,
                    answered_at=None,
                    question_modality=modality_of(message),
                    interrupted=interrupted_of(message),
                )
            )
        elif out and out[-1].answer is None:
            out[-1].answer = message["content"]
            out[-1].answered_at = message["created_at"]
            out[-1].answer_modality = modality_of(message)
            _record(out[-1], answer_of(message))
        elif out:
            # A second reply before the next question joins the first; a value read from
            # it is the one the turn records.
            out[-1].answer = f"{out[-1].answer}\n\n{message['content']}"
            if modality_of(message) == "voice":
                out[-1].answer_modality = "voice"
            found = answer_of(message)
            if found is not None and (found.value_status or out[-1].answer_kind is None):
                _record(out[-1], found)
        else:
            out.append(
                Turn(
                    item_id=message["item_id"],
                    question=None,
                    asked_at=None,
                    answer=message["content"],
                    answered_at=message["created_at"],
                    answer_modality=modality_of(message),
                )
            )
            _record(out[-1], answer_of(message))
    return out


def _record(turn: Turn, answer: Answer | None) -> None:
    if answer is not None:
        turn.answer_kind = answer.kind
        turn.value, turn.value_status = answer.value, answer.value_status
        turn.confidence = answer.confidence


def fingerprint(title: str, fields: Sequence[tuple[str, str]], messages: Sequence[Any]) -> str:
    """Changes whenever anything a rendered transcript shows changes."""
    digest = hashlib.sha256()
    digest.update(json.dumps([title, list(fields)], ensure_ascii=False).encode())
    for m in messages:
        shown = [m["id"], m["role"], m["content"], iso(m["created_at"])]
        # Only when there is one, so that a transcript stored before values were recorded
        # keeps its fingerprint (and its rendered files).
        if (value := recorded(answer_of(m))) is not None:
            shown.append(value)
        # Likewise only for voice messages: text ones keep the fingerprint they had.
        if label := said(m):
            shown.append(label)
        # Notes, too, only where there are some.
        if notes := notes_of(m):
            shown.append(notes)
        digest.update(json.dumps(shown).encode())
    return digest.hexdigest()


def metadata_fields(
    interview: Mapping[str, Any], session: Mapping[str, Any], anonymous: bool
) -> list[tuple[str, str]]:
    """The session's metadata rows, in order, as a rendered transcript shows them."""
    rows = [
        ("Interview", str(interview["title"])),
        ("Session", str(session["id"])),
        ("Status", str(session["status"])),
        ("Started", _stamp(session["created_at"])),
    ]
    if session["completed_at"] is not None:
        rows.append(("Completed", _stamp(session["completed_at"])))
    if not anonymous:
        if session["respondent_name"]:
            rows.append(("Respondent", str(session["respondent_name"])))
        if session["respondent_email"]:
            rows.append(("Email", str(session["respondent_email"])))
        if session["external_id"]:
            rows.append(("External id", str(session["external_id"])))
    return rows


def to_text(title: str, fields: Sequence[tuple[str, str]], messages: Sequence[Any]) -> str:
    # Control characters are drawn, not obeyed (no ANSI escape reaches a terminal), and
    # what was said is indented under its heading: no line of it can pass for a heading.
    title = _one_line(title)
    lines = [title, "=" * len(title), ""]
    lines += [f"{name}: {_one_line(value)}" for name, value in fields]
    for m in messages:
        role = ROLE_LABEL.get(m["role"], m["role"])
        label = f" ({label})" if (label := said(m)) else ""
        lines += ["", f"[{_stamp(m['created_at'])}] {role}{label}:"]
        lines += [
            f"{INDENT}{line}" if line else "" for line in neutralize.plain(m["content"]).split("\n")
        ]
        # Not indented: no line of what was said can pass for the recorded value.
        if (value := recorded(answer_of(m))) is not None:
            lines.append(f"{RECORDED} {_one_line(value)}")
        lines += [f"{NOTE_MARK} {_one_line(note)}" for note in notes_of(m)]
    return "\n".join(lines) + "\n"


def to_markdown(title: str, fields: Sequence[tuple[str, str]], messages: Sequence[Any]) -> str:
    lines = [f"# {neutralize.md_inline(title)}", ""]
    lines += [f"- **{name}:** {neutralize.md_inline(value)}" for name, value in fields]
    for m in messages:
        role = ROLE_LABEL.get(m["role"], m["role"])
        label = f" · {label}" if (label := said(m)) else ""
        lines += ["", f"**{role}**{label} · {_stamp(m['created_at'])}", ""]
        # Quoted line by line and escaped: nothing typed can end the quote or become a
        # heading, list, link, image, HTML or a turn of its own.
        lines += neutralize.md_quote(m["content"])
        # Outside the quote, which nothing typed can end: it cannot be forged either.
        if (value := recorded(answer_of(m))) is not None:
            lines += ["", f"{RECORDED} {neutralize.md_inline(value)}"]
        for note in notes_of(m):
            lines += ["", f"{NOTE_MARK} _{neutralize.md_inline(note)}_"]
    return "\n".join(lines) + "\n"


def _one_line(value: str) -> str:
    return neutralize.plain(value).replace("\n", " ")
