"""A researcher's bookmark weighs in synthesis: a bookmarked answer that carries a theme is
that theme's first quote; a note's words are never quoted."""

from __future__ import annotations

from sqlalchemy import select

from runtime.platform.clock import utcnow
from runtime.platform.ids import new_id
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.planted import plant
from tests.runtime.analysis.themes.test_offline import synthesise


async def test_a_bookmarked_answer_is_quoted_first(db: Database) -> None:
    planted = await plant(db, sessions=36, seed=4)
    before = await synthesise(db, planted)
    theme = before.themes[0]
    quoted = {q.session_id for q in theme.quotes}
    chosen = next(s for s in theme.session_ids if s not in quoted)
    m, n = schema.messages, schema.session_notes
    async with db.begin() as conn:
        answers = await conn.scalars(
            select(m.c.id).where(m.c.session_id == chosen, m.c.role == "respondent")
        )
        for message_id in list(answers):
            for kind in ("bookmark", "note"):
                await conn.execute(
                    n.insert().values(
                        id=new_id("note"),
                        workspace_id=planted.workspace_id,
                        interview_id=planted.interview_id,
                        session_id=chosen,
                        message_id=message_id,
                        kind=kind,
                        body="RESEARCHER WORDS never to be quoted" if kind == "note" else "",
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                )
    after = await synthesise(db, planted)
    same = next(t for t in after.themes if t.session_ids == theme.session_ids)
    assert same.quotes[0].session_id == chosen, "the bookmarked participant is quoted first"
    assert len(same.quotes) == len(theme.quotes)
    assert [t.session_ids for t in after.themes] == [t.session_ids for t in before.themes], (
        "a bookmark weighs on the quotes, never on what the themes are or who holds them"
    )
    everything = [q.text for t in after.themes for q in t.quotes]
    assert not any("RESEARCHER" in text for text in everything)
