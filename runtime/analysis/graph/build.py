"""The graph's nodes and edges from the sessions' mentions: who is connected to what, how often.

Nodes are the concepts and entities that count (runtime.analysis.concepts.Vocabulary), the
MAX_NODES most prevalent (prevalence: the number of sessions, that is participants, that
mention it; then mentions; then id). Two nodes are joined when one respondent message
holds both: `co_occurs` between two concepts or two entities, `mentioned_with` between an
entity and a concept. An edge's weight is the number of sessions in which they meet; an
edge counts from MIN_EDGE_SESSIONS, and the MAX_EDGES heaviest are kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Literal, get_args

from runtime.analysis.concepts import (
    MIN_SESSIONS,
    ConceptType,
    EntityType,
    Mentions,
    Ref,
    Term,
    Vocabulary,
)

MAX_NODES = 200
MAX_EDGES = 2000
MIN_EDGE_SESSIONS = MIN_SESSIONS
# Occurrences a node keeps (the first, in session order) for include_quotes to read.
MAX_REFS = 5

NodeType = Literal["concept", "entity"]
NODE_TYPES: tuple[NodeType, ...] = get_args(NodeType)
EdgeKind = Literal["co_occurs", "mentioned_with"]
EDGE_KINDS: tuple[EdgeKind, ...] = get_args(EdgeKind)


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    node_type: NodeType
    concept_type: ConceptType | None
    entity_type: EntityType | None
    prevalence: int
    mentions: int
    refs: tuple[Ref, ...]
    pagerank_score: float | None = None
    community: int | None = None


@dataclass(frozen=True)
class Edge:
    source: str  # the lesser node id: an edge has no direction
    target: str
    kind: EdgeKind
    weight: int


@dataclass(frozen=True)
class Built:
    nodes: tuple[Node, ...]  # by id
    edges: tuple[Edge, ...]  # by (source, target)
    session_count: int


def node_id(node_type: NodeType, key: str) -> str:
    return f"{node_type}:{key}"


def chosen(vocabulary: Vocabulary) -> dict[str, Node]:
    """The nodes the graph will have (without refs yet), by id."""
    terms: list[tuple[NodeType, Term]] = [
        *(("concept", t) for t in vocabulary.concepts().values()),
        *(("entity", t) for t in vocabulary.entities().values()),
    ]
    ranked = sorted(
        terms, key=lambda nt: (-nt[1].sessions, -nt[1].mentions, node_id(nt[0], nt[1].key))
    )
    out: dict[str, Node] = {}
    for node_type, term in ranked[:MAX_NODES]:
        nid = node_id(node_type, term.key)
        out[nid] = Node(
            nid,
            term.label,
            node_type,
            term.concept_type,
            term.entity_type,
            term.sessions,
            term.mentions,
            (),
        )
    return out


class Builder:
    """Fed each session's mentions in order, after `chosen`: the refs and the edges."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self._nodes = nodes
        self._refs: dict[str, list[Ref]] = {nid: [] for nid in nodes}
        self._pairs: Counter[tuple[str, str]] = Counter()
        self.sessions = 0

    def add(self, mentions: Mentions) -> None:
        self.sessions += 1
        met: set[tuple[str, str]] = set()
        for concepts, entities in mentions.by_message.values():
            here = sorted(
                {node_id("concept", k) for k in concepts} | {node_id("entity", k) for k in entities}
            )
            met.update(combinations([n for n in here if n in self._nodes], 2))
        self._pairs.update(met)
        kinds: tuple[tuple[NodeType, dict[str, list[Ref]]], ...] = (
            ("concept", mentions.concepts),
            ("entity", mentions.entities),
        )
        for node_type, found in kinds:
            for key, refs in found.items():
                kept = self._refs.get(node_id(node_type, key))
                if kept is not None and len(kept) < MAX_REFS:
                    kept.extend(refs[: MAX_REFS - len(kept)])

    def built(self) -> Built:
        nodes = tuple(
            replace(self._nodes[nid], refs=tuple(self._refs[nid])) for nid in sorted(self._nodes)
        )
        heaviest = sorted(
            ((pair, n) for pair, n in self._pairs.items() if n >= MIN_EDGE_SESSIONS),
            key=lambda pn: (-pn[1], pn[0]),
        )[:MAX_EDGES]
        edges = tuple(
            Edge(a, b, _kind(self._nodes[a], self._nodes[b]), n) for (a, b), n in sorted(heaviest)
        )
        return Built(nodes, edges, self.sessions)


def _kind(a: Node, b: Node) -> EdgeKind:
    return "co_occurs" if a.node_type == b.node_type else "mentioned_with"
