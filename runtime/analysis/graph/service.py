"""The knowledge graph built from an interview's sessions, stored, analysed, read back filtered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis import corpus, terms
from runtime.analysis.concepts import MIN_SESSIONS, ConceptType, EntityType, Ref
from runtime.analysis.graph import analyze as analysis
from runtime.analysis.graph.build import MAX_EDGES, MAX_NODES, Builder, Built, Edge, Node, chosen
from runtime.analysis.graph.views import Graph, GraphEdge, GraphNode, GraphParams, GraphQuote
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database, upsert

# GET …/graph's `limit`: nodes returned, the highest PageRank first.
DEFAULT_LIMIT = 100
MAX_LIMIT = MAX_NODES
QUOTES_PER_NODE = 3
# min_prevalence's largest value: more participants than any interview holds.
MAX_MIN_PREVALENCE = 1_000_000
# Messages one query reads for quotes: bounds the IN list.
MESSAGES_PER_QUERY = 500
# A sentence longer than this is quoted as the mention alone.
MAX_QUOTE_CHARS = 400
_SENTENCE = re.compile(r"[.!?\n]")
_g = schema.interview_graphs
_m = schema.messages


@dataclass(frozen=True)
class GraphQuery:
    """What GET …/graph returns of the stored graph."""

    concept_type: ConceptType | None = None
    entity_type: EntityType | None = None
    min_prevalence: int = 0
    include_quotes: bool = False
    limit: int = DEFAULT_LIMIT


async def build(
    db: Database, workspace_id: str, interview_id: str, filters: corpus.Filters
) -> Built:
    """The graph of the interview's sessions under `filters`, not yet analysed: the corpus is
    read twice page by page (runtime.analysis.terms), so memory holds the graph, not the
    sessions."""
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
    builder = Builder(chosen(await terms.vocabulary(db, interview_id, filters)))
    async for mentions in terms.mentions(db, interview_id, filters):
        builder.add(mentions)
    return builder.built()


async def analyze(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    seed: int = analysis.SEED,
    resolution: float = analysis.RESOLUTION,
    include_test: bool = False,
    query: GraphQuery | None = None,
) -> Graph:
    """Rebuild the graph from the sessions, run PageRank and Louvain, store it, return it."""
    filters = corpus.Filters(include_test=include_test)
    built = analysis.analyze(await build(db, workspace_id, interview_id, filters), seed, resolution)
    now = utcnow()
    params = GraphParams(
        seed=seed,
        resolution=resolution,
        max_nodes=MAX_NODES,
        max_edges=MAX_EDGES,
        min_sessions=MIN_SESSIONS,
        include_test=include_test,
    )
    values = {
        "interview_id": interview_id,
        "workspace_id": workspace_id,
        "nodes": [_stored_node(n) for n in built.nodes],
        "edges": [_stored_edge(e) for e in built.edges],
        "params": {f: getattr(params, f) for f in params.__struct_fields__},
        "session_count": built.session_count,
        "built_at": now,
        "analyzed_at": now,
    }
    async with db.begin() as conn:
        # An upsert: two analyses at once both store, the later wins, neither fails on the key.
        statement = upsert(conn, _g).values(**values)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[_g.c.interview_id],
                set_={k: statement.excluded[k] for k in values if k != "interview_id"},
            )
        )
    async with db.connect() as conn:
        return await _view(conn, interview_id, values, query or GraphQuery())


async def get(
    db: Database, workspace_id: str, interview_id: str, query: GraphQuery | None = None
) -> Graph:
    """The stored graph, filtered; built and analysed first if it never was."""
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        row = (await conn.execute(select(_g).where(_g.c.interview_id == interview_id))).first()
        if row is not None:
            return await _view(conn, interview_id, row._mapping, query or GraphQuery())
    return await analyze(db, workspace_id, interview_id, query=query)


async def _view(conn: AsyncConnection, interview_id: str, row: Any, query: GraphQuery) -> Graph:
    nodes = [_node(n) for n in row["nodes"]]
    edges = [_edge(e) for e in row["edges"]]
    wanted = [n for n in nodes if _matches(n, query)]
    wanted.sort(key=lambda n: (-(n.pagerank_score or 0.0), -n.prevalence, n.id))
    wanted = wanted[: query.limit]
    ids = {n.id for n in wanted}
    kept = [e for e in edges if e.source in ids and e.target in ids]
    quotes = await _quotes(conn, wanted) if query.include_quotes else {}
    return Graph(
        interview_id=interview_id,
        nodes=[_node_view(n, quotes.get(n.id) if query.include_quotes else None) for n in wanted],
        edges=[
            GraphEdge(source=e.source, target=e.target, kind=e.kind, weight=e.weight) for e in kept
        ],
        node_count=len(wanted),
        edge_count=len(kept),
        total_nodes=len(nodes),
        total_edges=len(edges),
        session_count=int(row["session_count"]),
        params=GraphParams(**row["params"]),
        built_at=row["built_at"],
        analyzed_at=row["analyzed_at"],
    )


def _matches(node: Node, query: GraphQuery) -> bool:
    """At least min_prevalence; and with concept_type (entity_type) given, a concept (an
    entity) of that type; with both given, either."""
    if node.prevalence < query.min_prevalence:
        return False
    if query.concept_type is None and query.entity_type is None:
        return True
    return (query.concept_type is not None and node.concept_type == query.concept_type) or (
        query.entity_type is not None and node.entity_type == query.entity_type
    )


async def _quotes(conn: AsyncConnection, nodes: list[Node]) -> dict[str, list[GraphQuote]]:
    """Each node's first sentences, read live: an erased message is simply not quoted."""
    refs = {n.id: n.refs[:QUOTES_PER_NODE] for n in nodes}
    message_ids = sorted({r.message_id for found in refs.values() for r in found})
    texts: dict[str, str] = {}
    for at in range(0, len(message_ids), MESSAGES_PER_QUERY):
        chunk = message_ids[at : at + MESSAGES_PER_QUERY]
        found = await conn.execute(
            select(_m.c.id, _m.c.content).where(_m.c.id.in_(chunk), _m.c.role == "respondent")
        )
        texts.update({r.id: r.content for r in found})
    out: dict[str, list[GraphQuote]] = {}
    for nid, found_refs in refs.items():
        quotes = out.setdefault(nid, [])
        for ref in found_refs:
            text = texts.get(ref.message_id)
            if text is None or ref.end > len(text):
                continue
            start, end = sentence(text, ref.start, ref.end)
            quotes.append(
                GraphQuote(
                    session_id=ref.session_id,
                    message_id=ref.message_id,
                    start=start,
                    end=end,
                    text=text[start:end],
                )
            )
    return out


def sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence holding [start, end), or the mention itself when that
    sentence is longer than MAX_QUOTE_CHARS."""
    before = [m.end() for m in _SENTENCE.finditer(text, 0, start)]
    begin = before[-1] if before else 0
    while begin < start and text[begin].isspace():
        begin += 1
    after = _SENTENCE.search(text, end)
    finish = after.end() if after else len(text)
    while finish > end and text[finish - 1].isspace():
        finish -= 1
    if finish - begin > MAX_QUOTE_CHARS:
        return start, end
    return begin, finish


def _node_view(node: Node, quotes: list[GraphQuote] | None) -> GraphNode:
    view = GraphNode(
        id=node.id,
        label=node.label,
        node_type=node.node_type,
        concept_type=node.concept_type,
        entity_type=node.entity_type,
        prevalence=node.prevalence,
        mentions=node.mentions,
        pagerank_score=node.pagerank_score,
        community=node.community,
    )
    if quotes is not None:
        view.quotes = quotes
    return view


def _stored_node(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "label": node.label,
        "node_type": node.node_type,
        "concept_type": node.concept_type,
        "entity_type": node.entity_type,
        "prevalence": node.prevalence,
        "mentions": node.mentions,
        "pagerank_score": node.pagerank_score,
        "community": node.community,
        # Offsets only, never the text: erasing a message erases the quote.
        "refs": [[r.session_id, r.message_id, r.start, r.end] for r in node.refs],
    }


def _node(stored: dict[str, Any]) -> Node:
    return Node(
        id=stored["id"],
        label=stored["label"],
        node_type=stored["node_type"],
        concept_type=stored["concept_type"],
        entity_type=stored["entity_type"],
        prevalence=int(stored["prevalence"]),
        mentions=int(stored["mentions"]),
        refs=tuple(Ref(s, m, int(a), int(b)) for s, m, a, b in stored["refs"]),
        pagerank_score=stored["pagerank_score"],
        community=stored["community"],
    )


def _stored_edge(edge: Edge) -> dict[str, Any]:
    return {"source": edge.source, "target": edge.target, "kind": edge.kind, "weight": edge.weight}


def _edge(stored: dict[str, Any]) -> Edge:
    return Edge(stored["source"], stored["target"], stored["kind"], int(stored["weight"]))
