"""A synthesis theme promoted to a finding, and promoted again (merged)."""

from __future__ import annotations

import pytest

from runtime.analysis.findings import listing, promote, service
from runtime.platform.errors import NotFound
from runtime.stores.database import Database
from tests.runtime.analysis.findings import seed

A = "Pricing was confusing and the plans overlapped."
B = "I could not tell which plan I needed, pricing is confusing."


async def test_a_theme_becomes_a_finding_with_its_quotes(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    one = await seed.session(db, ws, iid, [A])
    two = await seed.session(db, ws, iid, [B], minutes=1)
    with pytest.raises(NotFound):
        await promote.promote(db, ws, iid, "th_1")  # no synthesis yet
    result = {
        "summary": "s",
        "themes": [
            seed.theme("th_1", "Confusing pricing", [one.session_id, two.session_id], 7),
            seed.theme("th_2", "Plans overlap", [one.session_id], 1),
        ],
        "divergent_views": [],
        "counts": {},
        "model": None,
    }
    quoted = [
        seed.ThemeQuote("th_1", one.session_id, one.message_ids[0], 0, 22, A[0:22]),
        seed.ThemeQuote("th_1", two.session_id, two.message_ids[0], 38, 57, B[38:57]),
        seed.ThemeQuote("th_2", one.session_id, one.message_ids[0], 27, 47, A[27:47]),
    ]
    # An older completed one and a newer failed one: neither is the latest completed.
    await seed.synthesis(db, ws, iid, {**result, "themes": []}, [], minutes=-5)
    synthesis_id = await seed.synthesis(db, ws, iid, result, quoted)
    await seed.synthesis(db, ws, iid, {}, [], status="failed", minutes=5)
    made = await promote.promote(db, ws, iid, "th_1", priority="high")
    f = made.finding
    assert made.created
    assert (f.type, f.title, f.description, f.prevalence) == (
        "theme",
        "Confusing pricing",
        "About confusing pricing",
        7,  # the theme's participants, not its quotes'
    )
    assert (f.priority, f.status) == ("high", "emerging")
    assert (f.source.kind, f.source.synthesis_id, f.source.theme_id) == (
        "synthesis",
        synthesis_id,
        "th_1",
    )
    assert [(q.message_id, q.start, q.end, q.text) for q in f.evidence] == [
        (one.message_ids[0], 0, 22, A[0:22]),
        (two.message_ids[0], 38, 57, B[38:57]),
    ]
    await service.update_fields(db, ws, iid, f.id, {"description": "mine"})
    again = await promote.promote(db, ws, iid, "th_1", status="established")
    assert not again.created and again.finding.id == f.id
    g = again.finding
    assert (g.description, g.status, g.prevalence, len(g.evidence)) == ("mine", "established", 7, 2)
    # The copies are the finding's; the theme keeps its own quotes.
    theme = await listing.list_page(db, ws, iid, theme_id="th_1", limit=10)
    assert {q.finding_id for q in theme.items} == {None}
    assert len(theme.items) == 2
    evidence = await listing.list_page(db, ws, iid, finding_id=f.id, limit=10)
    assert {q.synthesis_id for q in evidence.items} == {None} and len(evidence.items) == 2
    with pytest.raises(NotFound):
        await promote.promote(db, ws, iid, "th_9")
    other = await seed.workspace(db)
    with pytest.raises(NotFound):
        await promote.promote(db, other, iid, "th_1")
