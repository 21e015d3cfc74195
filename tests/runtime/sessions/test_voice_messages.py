"""Voice messages in SQL: a spoken answer with its clip, an interviewer turn's audio attached
after it played, a barge-in's turn stored as heard; and how every view shows them."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from runtime.access import keys
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.errors import NotFound
from runtime.sessions import store as sessions
from runtime.sessions import views as session_views
from runtime.stores.database import Database
from runtime.transcripts import document
from runtime.voice.clips import AudioRef


def _ref(session_id: str, offset_ms: int, duration_ms: int = 1800) -> AudioRef:
    key = f"voice/{session_id}/{uuid.uuid4().hex}.ogg"
    return AudioRef(
        key=key,
        content_type="audio/ogg",
        duration_ms=duration_ms,
        offset_ms=offset_ms,
        size_bytes=3600,
    )


async def _session(db: Database) -> str:
    workspace = await keys.ensure_workspace(db, "voice-store-tests")
    view = await interviews.create(db, workspace, {"title": "Voice", "modes": ["voice"]})
    await interviews.edit_guide(db, workspace, view.id, lambda g: guides.add_section(g, "S")[0])
    await interviews.edit_guide(
        db, workspace, view.id, lambda g: guides.add_item(g, "S1", "question", {"text": "Q?"})[0]
    )
    published = await interviews.transition(db, workspace, view.id, "publish")
    started = await sessions.start(db, published.share_token, {})
    sid = str(started.row["id"])
    written = "Hello and welcome. What did you try first?"
    assert await sessions.commit_turn(db, sid, 1, sessions.CommittedTurn(written, "Q1", "open", {}))
    return sid


async def _messages(db: Database, sid: str) -> list[dict[str, object]]:
    async with db.connect() as conn:
        return [dict(r._mapping) for r in await sessions.messages(conn, sid)]


async def test_a_spoken_answer_and_a_heard_turn_are_stored_and_shown(own_db: Database) -> None:
    db = own_db
    sid = await _session(db)
    turn_audio = _ref(sid, offset_ms=120, duration_ms=2600)
    # Cut by a barge-in after 1.1 s: the stored turn is what was heard.
    await sessions.attach_turn_audio(
        db, sid, "t1", turn_audio, heard="Hello and welcome.", heard_ms=1100
    )
    answer_audio = _ref(sid, offset_ms=1400)
    posted = await sessions.post_message(
        db, sid, "I connected our warehouse", "m-1", modality="voice", audio=answer_audio
    )
    assert posted.created
    # A retry stores nothing and keeps the first message (and its clip).
    again = await sessions.post_message(
        db, sid, "I connected our warehouse", "m-1", modality="voice", audio=_ref(sid, 0)
    )
    assert not again.created and again.id == posted.id

    turn, answer = await _messages(db, sid)
    assert turn["content"] == "Hello and welcome."
    assert turn["metadata"]["interrupted"] is True  # type: ignore[index]
    assert turn["metadata"]["written"] == "Hello and welcome. What did you try first?"  # type: ignore[index]
    assert turn["metadata"]["heard_ms"] == 1100  # type: ignore[index]
    assert turn["metadata"]["audio"] == turn_audio.stored()  # type: ignore[index]
    assert turn["metadata"]["move"] == "open", "the turn's accounting stays"  # type: ignore[index]
    assert answer["metadata"]["audio"] == answer_audio.stored()  # type: ignore[index]
    assert answer["metadata"]["answer"] == {"kind": "question"}  # type: ignore[index]

    researcher = [session_views.message_view(m) for m in (turn, answer)]
    assert [m.modality for m in researcher] == ["voice", "voice"]
    assert researcher[0].interrupted and not researcher[1].interrupted
    assert researcher[0].written == "Hello and welcome. What did you try first?"
    assert researcher[1].written is None
    assert researcher[1].audio is not None
    assert (researcher[1].audio.offset_ms, researcher[1].audio.duration_ms) == (1400, 1800)
    assert researcher[1].audio.content_type == "audio/ogg"
    respondent = session_views.message_view(turn, with_metadata=False)
    assert respondent.interrupted and respondent.audio is not None
    assert respondent.written is msgspec.UNSET and b'"written"' not in msgspec.json.encode(
        respondent
    )

    (pair,) = document.turns(await _messages(db, sid))
    assert pair.question == "Hello and welcome." and pair.interrupted
    assert (pair.question_modality, pair.answer_modality) == ("voice", "voice")
    text = document.to_text("Voice", [], await _messages(db, sid))
    assert "Interviewer (voice, interrupted):" in text and "Respondent (voice):" in text
    md = document.to_markdown("Voice", [], await _messages(db, sid))
    assert "**Interviewer** · voice, interrupted · " in md and "**Respondent** · voice · " in md


async def test_a_turn_heard_whole_is_not_interrupted_and_text_is_as_before(
    own_db: Database,
) -> None:
    db = own_db
    sid = await _session(db)
    before = document.fingerprint("Voice", [], await _messages(db, sid))
    typed = await _messages(db, sid)
    assert session_views.message_view(typed[0]).modality == "text"
    assert "(voice" not in document.to_text("Voice", [], typed)
    await sessions.attach_turn_audio(
        db, sid, "t1", _ref(sid, 0), heard=" Hello and welcome. What did you try first? "
    )
    (turn,) = await _messages(db, sid)
    assert turn["content"] == "Hello and welcome. What did you try first?"
    assert "interrupted" not in turn["metadata"]  # type: ignore[operator]
    view = session_views.message_view(turn)
    assert view.modality == "voice" and not view.interrupted and view.written is None
    # The rendered files change with it: they now mark the turn as spoken.
    assert document.fingerprint("Voice", [], [turn]) != before
    await sessions.post_message(db, sid, "typed answer", "m-typed")
    (_, answer) = await _messages(db, sid)
    assert answer["metadata"]["modality"] == "text"  # type: ignore[index]
    assert session_views.message_view(answer).audio is None


async def test_audio_for_a_turn_that_is_not_stored_is_refused(own_db: Database) -> None:
    db = own_db
    sid = await _session(db)
    with pytest.raises(NotFound):
        await sessions.attach_turn_audio(db, sid, "t9", _ref(sid, 0))
    with pytest.raises(ValueError, match="only a voice message"):
        await sessions.post_message(db, sid, "x", "m-x", audio=_ref(sid, 0))
