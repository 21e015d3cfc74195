"""The knowledge graph of a planted interview, built from SQL: counts, types, ranks, clusters."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import select

from runtime.analysis import corpus
from runtime.analysis.graph import service as graphs
from runtime.analysis.graph.views import Graph
from runtime.platform.errors import NotFound
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.corpora import (
    CLUSTER_A,
    CLUSTER_B,
    add_sessions,
    graph_corpus,
    interview,
)


def by_label(graph: Graph) -> dict[str, object]:
    return {n.label: n for n in graph.nodes}


def stable(graph: Graph) -> bytes:
    """The graph without the times it was made."""
    return msgspec.json.encode(msgspec.structs.replace(graph, built_at=None, analyzed_at=None))


@pytest.fixture
async def planted(db: Database) -> tuple[str, str, list[str]]:
    workspace_id, interview_id = await interview(db)
    ids = await add_sessions(db, workspace_id, interview_id, graph_corpus().sessions)
    return workspace_id, interview_id, ids


async def test_prevalence_counts_participants_and_entities_are_typed(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, ids = planted
    where = graph_corpus().where
    graph = await graphs.get(db, workspace_id, interview_id)
    nodes = {n.label: n for n in graph.nodes}
    assert graph.session_count == len(ids) == 32
    # Every planted phrase, and nothing else: the noise words are one session's each.
    assert set(nodes) == {p.casefold() if p[0].islower() else p for p in where}
    for phrase, sessions in where.items():
        assert nodes[phrase].prevalence == len(sessions), phrase
    # Mentions count every time it is said: some sessions say it twice.
    said = sum("battery" in m.casefold() for s in graph_corpus().sessions for m in s)
    assert nodes["battery life"].mentions == said > nodes["battery life"].prevalence
    assert (nodes["Acme Cloud"].node_type, nodes["Acme Cloud"].entity_type) == ("entity", "product")
    assert nodes["Globex Corp"].entity_type == "organization"
    assert nodes["battery life"].concept_type == "topic"
    assert all(n.community is not None and n.pagerank_score is not None for n in graph.nodes)


async def test_the_most_connected_concept_ranks_first_and_the_clusters_separate(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, _ = planted
    graph = await graphs.get(db, workspace_id, interview_id)
    assert graph.nodes[0].label == "battery life"  # nodes come by PageRank
    scores = [n.pagerank_score or 0.0 for n in graph.nodes]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-4
    nodes = {n.label: n for n in graph.nodes}
    a = {nodes[p].community for p in CLUSTER_A}
    b = {nodes[p].community for p in CLUSTER_B}
    assert len(a) == 1 and len(b) == 1 and a != b
    kinds = {(e.source, e.target): e for e in graph.edges}
    support = kinds[("concept:customer support", "entity:globex corp")]
    assert (support.kind, support.weight) == ("mentioned_with", 16)
    delay = kinds[("concept:customer support", "concept:delivery delay")]
    assert delay.kind == "co_occurs"
    # No edge joins the clusters: they were never said in one message.
    a_ids = {nodes[p].id for p in CLUSTER_A}
    b_ids = {nodes[p].id for p in CLUSTER_B}
    assert not [
        e for e in graph.edges if {e.source, e.target} & a_ids and {e.source, e.target} & b_ids
    ]


async def test_the_same_sessions_give_byte_identical_output(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, _ = planted
    first = await graphs.analyze(db, workspace_id, interview_id)
    again = await graphs.analyze(db, workspace_id, interview_id)
    stored = await graphs.get(db, workspace_id, interview_id)
    assert stable(first) == stable(again) == stable(stored)
    other_seed = await graphs.analyze(db, workspace_id, interview_id, seed=7, resolution=2.0)
    assert other_seed.params.seed == 7 and other_seed.params.resolution == 2.0


async def test_quotes_are_read_live_and_their_offsets_slice_the_stored_text(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, _ = planted
    graph = await graphs.get(db, workspace_id, interview_id, graphs.GraphQuery(include_quotes=True))
    m = schema.messages
    async with db.connect() as conn:
        texts = dict((await conn.execute(select(m.c.id, m.c.content))).tuples().all())
    for node in graph.nodes:
        assert node.quotes, node.label
        assert len(node.quotes) <= graphs.QUOTES_PER_NODE
        for quote in node.quotes:
            stored = texts[quote.message_id]
            assert stored[quote.start : quote.end] == quote.text
            said = quote.text.casefold().replace("-", " ")
            assert node.label.casefold().split(" ")[0] in said
    life = next(n for n in graph.nodes if n.label == "battery life")
    assert any("battery-life" in q.text for q in life.quotes or [])  # the paraphrase, as said


async def test_filters_limit_and_another_workspace(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, _ = planted
    get = graphs.get
    products = await get(db, workspace_id, interview_id, graphs.GraphQuery(entity_type="product"))
    assert [n.label for n in products.nodes] == ["Acme Cloud"] and products.edges == []
    common = await get(db, workspace_id, interview_id, graphs.GraphQuery(min_prevalence=16))
    assert {n.label for n in common.nodes} == {
        "battery life", "Acme Cloud", "customer support", "delivery delay", "Globex Corp"
    }  # fmt: skip
    assert all(e.source in {n.id for n in common.nodes} for e in common.edges)
    top = await get(db, workspace_id, interview_id, graphs.GraphQuery(limit=2))
    assert top.node_count == 2 and top.total_nodes == 8
    topics = await get(db, workspace_id, interview_id, graphs.GraphQuery(concept_type="topic"))
    assert {n.node_type for n in topics.nodes} == {"concept"}
    other_workspace, _ = await interview(db)
    with pytest.raises(NotFound):
        await get(db, other_workspace, interview_id)


async def test_pages_of_sessions_give_the_graph_of_them_all(
    db: Database, planted: tuple[str, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id, interview_id, _ = planted
    whole = await graphs.build(db, workspace_id, interview_id, corpus.Filters())
    # Pages of 5 sessions: the build never needs them all at once.
    monkeypatch.setattr(corpus, "PAGE_SIZE", 5)
    paged = await graphs.build(db, workspace_id, interview_id, corpus.Filters())
    assert paged == whole and paged.session_count == 32


async def test_an_erased_message_is_no_longer_quoted(
    db: Database, planted: tuple[str, str, list[str]]
) -> None:
    workspace_id, interview_id, ids = planted
    quoting = graphs.GraphQuery(include_quotes=True)

    async def quoted() -> set[str]:
        graph = await graphs.get(db, workspace_id, interview_id, quoting)
        return {q.session_id for n in graph.nodes for q in n.quotes or []}

    assert {ids[1], ids[2]} <= await quoted()
    m = schema.messages
    async with db.begin() as conn:
        await conn.execute(m.delete().where(m.c.session_id == ids[1]))
    after = await quoted()
    assert ids[1] not in after and ids[2] in after
