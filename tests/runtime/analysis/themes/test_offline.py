"""The offline engine on planted interviews, on SQLite and PostgreSQL: themes recovered,
quotes real, divided views found, output repeatable, re-runs incremental."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from sqlalchemy import delete, func, select, update

from runtime.analysis import quotes
from runtime.analysis.agreement import agreement
from runtime.analysis.corpus import Filters, SqlCorpus
from runtime.analysis.drafts import Draft
from runtime.analysis.themes.offline import OfflineEngine
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.planted import Planted, extend, plant

F1_TARGET = 0.8


async def synthesise(db: Database, planted: Planted) -> Draft:
    shares: list[float] = []

    async def progress(share: float) -> None:
        shares.append(share)

    engine = OfflineEngine(db, planted.language)
    found = await engine.draft(SqlCorpus(db, planted.interview_id, Filters()), progress)
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert found.engine == "offline"
    return found


def dump(draft: Draft) -> str:
    return json.dumps(dataclasses.asdict(draft), sort_keys=True, ensure_ascii=False)


def recovery(draft: Draft, planted: Planted) -> float:
    found = [frozenset(t.session_ids) for t in draft.themes]
    return agreement(found, list(planted.themes.values())).f1


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_planted_themes_are_recovered(db: Database, seed: int) -> None:
    planted = await plant(db, sessions=36, seed=seed)
    draft = await synthesise(db, planted)
    f1 = recovery(draft, planted)
    print(f"seed {seed}: theme recovery F1 {f1:.3f} over {len(draft.themes)} themes")
    assert f1 >= F1_TARGET, [(t.title, len(t.session_ids)) for t in draft.themes]
    for theme in draft.themes:
        assert theme.title and theme.keywords and theme.description
        assert len(theme.session_ids) <= theme.mentions
    assert draft.summary.startswith("36 sessions were analysed")


async def test_every_quote_is_verbatim_from_a_session_of_its_theme(db: Database) -> None:
    planted = await plant(db, sessions=36, seed=4)
    draft = await synthesise(db, planted)
    m = schema.messages
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.c.id, m.c.session_id, m.c.content, m.c.role).where(
                m.c.session_id.in_(planted.session_ids)
            )
        )
        stored = {r.id: r for r in rows}
    checked = 0
    sides = [(s.session_ids, s.quotes) for v in draft.divergent_views for s in v.sides]
    for session_ids, proposed in [(t.session_ids, t.quotes) for t in draft.themes] + sides:
        assert len({q.session_id for q in proposed}) == len(proposed)  # one per participant
        for quote in proposed:
            assert quote.message_id is not None
            row = stored[quote.message_id]
            assert row.role == "respondent" and row.session_id == quote.session_id
            assert quote.session_id in session_ids
            found = quotes.find(quote.text, quote.message_id, row.content)
            assert found is not None and found.method == "exact", quote
            checked += 1
    assert checked >= len(draft.themes)


async def test_the_divided_theme_has_both_sides(db: Database) -> None:
    planted = await plant(db, sessions=40, seed=3)
    draft = await synthesise(db, planted)
    divided = planted.themes[planted.divided]
    assert draft.divergent_views
    best = max(
        draft.divergent_views,
        key=lambda v: len(set(draft.themes[v.theme_index or 0].session_ids) & divided),
    )
    assert best.theme_index is not None
    assert draft.themes[best.theme_index].sentiment == "mixed"
    positive, negative = best.sides
    assert (positive.stance, negative.stance) == ("positive", "negative")
    assert len(set(positive.session_ids) & planted.praising) >= 2
    assert len(set(negative.session_ids) & planted.complaining) >= 2
    # Most of each side is who the planted corpus put there.
    assert len(set(positive.session_ids) & planted.praising) > len(positive.session_ids) / 2
    assert len(set(negative.session_ids) & planted.complaining) > len(negative.session_ids) / 2
    assert positive.quotes and negative.quotes


async def test_the_same_input_gives_a_byte_identical_draft(db: Database) -> None:
    planted = await plant(db, sessions=36, seed=5)
    first = await synthesise(db, planted)
    r = schema.session_readings
    async with db.begin() as conn:
        await conn.execute(delete(r).where(r.c.interview_id == planted.interview_id))
    again = await synthesise(db, planted)
    assert dump(again) == dump(first)
    cached = await synthesise(db, planted)  # from the cached readings this time
    assert (cached.sessions_read, cached.sessions_reused) == (0, 36)
    assert dump(dataclasses.replace(cached, sessions_read=36, sessions_reused=0)) == dump(first)


async def test_a_rerun_reads_only_new_and_changed_sessions(db: Database) -> None:
    planted = await plant(db, sessions=33, seed=6)
    first = await synthesise(db, planted)
    assert (first.sessions_read, first.sessions_reused) == (33, 0)
    planted = await extend(db, planted, 3)
    second = await synthesise(db, planted)
    assert (second.sessions_read, second.sessions_reused) == (3, 33)
    m = schema.messages
    changed = planted.session_ids[7]
    async with db.begin() as conn:
        await conn.execute(
            update(m)
            .where(m.c.session_id == changed, m.c.role == "respondent", m.c.seq == 2)
            .values(content="The battery dies before lunch, every single day.")
        )
    third = await synthesise(db, planted)
    assert (third.sessions_read, third.sessions_reused) == (1, 35)
    assert recovery(third, planted) >= F1_TARGET


async def test_tiny_and_empty_interviews_give_a_draft(db: Database) -> None:
    empty = await synthesise(db, await plant(db, sessions=0))
    assert empty.themes == () and empty.summary == "No sessions to analyse yet."
    tiny = await synthesise(db, await plant(db, sessions=3, seed=7))
    assert (tiny.sessions_read, tiny.sessions_reused) == (3, 0)
    # Two of three respondents make a theme of a tiny corpus; often there is none.
    assert all(len(t.session_ids) >= 2 for t in tiny.themes)
    assert tiny.summary.startswith("3 sessions were analysed")


async def test_a_german_interview_gives_themes(db: Database) -> None:
    planted = await plant(db, sessions=36, seed=8, language="de")
    draft = await synthesise(db, planted)
    f1 = recovery(draft, planted)
    print(f"German: theme recovery F1 {f1:.3f}")
    assert f1 >= F1_TARGET
    assert {t.sentiment for t in draft.themes} == {"neutral"}  # not scored offline
    assert any("not scored" in note for note in draft.notes)
    assert any("Akku" in t.title for t in draft.themes)


async def test_two_runs_at_once_share_the_cached_readings(db: Database) -> None:
    planted = await plant(db, sessions=30, seed=9)
    first, second = await asyncio.gather(synthesise(db, planted), synthesise(db, planted))
    assert first.sessions_read + first.sessions_reused == 30
    assert second.sessions_read + second.sessions_reused == 30
    assert dump(dataclasses.replace(first, sessions_read=0, sessions_reused=0)) == dump(
        dataclasses.replace(second, sessions_read=0, sessions_reused=0)
    )
    r = schema.session_readings
    async with db.connect() as conn:
        stored = await conn.scalar(
            select(func.count()).select_from(r).where(r.c.interview_id == planted.interview_id)
        )
    assert stored == 30
    again = await synthesise(db, planted)
    assert (again.sessions_read, again.sessions_reused) == (0, 30)
