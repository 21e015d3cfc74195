"""The knowledge graph as the API shows it (the method: docs/synthesis.md, "Knowledge graph")."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, UnsetType

from runtime.analysis.concepts import ConceptType, EntityType
from runtime.analysis.graph.build import EdgeKind, NodeType
from runtime.platform.views import Meta, Timestamp, View


class GraphQuote(View):
    """Where a node is said: the sentence of a stored respondent message that holds it"""

    session_id: str
    message_id: str
    start: Annotated[int, Meta(description="Offset of the sentence in the message's text", ge=0)]
    end: Annotated[int, Meta(description="End offset (exclusive)", ge=0)]
    text: Annotated[str, Meta(description="The message's text from start to end, as stored")]


class GraphNode(View):
    """A concept (a keyphrase) or an entity (a named thing) of the interview"""

    id: Annotated[str, Meta(description='"concept:<phrase>" or "entity:<name>"')]
    label: str
    node_type: NodeType
    concept_type: Annotated[
        ConceptType | None,
        Meta(description="Concepts: topic, attribute (adjective-led) or feeling; else null"),
    ]
    entity_type: Annotated[
        EntityType | None,
        Meta(description="Entities: organization, product, person, place or other; else null"),
    ]
    prevalence: Annotated[int, Meta(description="Participants (sessions) who mention it", ge=0)]
    mentions: Annotated[int, Meta(description="Times it is mentioned, all sessions", ge=0)]
    pagerank_score: Annotated[
        Annotated[float, Meta(ge=0, le=1)] | None,
        Meta(description="Weighted PageRank (damping 0.85), 6 decimals; sums to 1"),
    ]
    community: Annotated[
        Annotated[int, Meta(ge=0)] | None,
        Meta(description="Louvain community, 0 the largest (ties: by least node id)"),
    ]
    quotes: Annotated[
        list[GraphQuote] | UnsetType,
        Meta(description="With include_quotes=true: up to 3 sentences that mention it"),
    ] = UNSET


class GraphEdge(View):
    """Two nodes said in the same respondent message, in `weight` sessions"""

    source: Annotated[str, Meta(description="The lesser node id (edges have no direction)")]
    target: str
    kind: Annotated[
        EdgeKind,
        Meta(
            description="co_occurs (two concepts, or two entities); mentioned_with "
            "(an entity and a concept)"
        ),
    ]
    weight: Annotated[int, Meta(description="Sessions in which they co-occur", ge=1)]


class GraphParams(View):
    """How the graph was made"""

    seed: Annotated[int, Meta(description="Louvain's random seed", ge=0)]
    resolution: Annotated[
        float, Meta(description="Louvain's resolution (> 1: smaller communities)")
    ]
    max_nodes: Annotated[int, Meta(description="Nodes kept, the most prevalent", ge=1)]
    max_edges: Annotated[int, Meta(description="Edges kept, the heaviest", ge=1)]
    min_sessions: Annotated[
        int, Meta(description="Sessions a concept, entity or edge must occur in to count", ge=1)
    ]
    include_test: bool


class Graph(View):
    """An interview's knowledge graph (nodes by PageRank, highest first)"""

    interview_id: str
    nodes: list[GraphNode]
    edges: Annotated[list[GraphEdge], Meta(description="The edges between the nodes returned")]
    node_count: Annotated[int, Meta(description="Nodes returned", ge=0)]
    edge_count: Annotated[int, Meta(description="Edges returned", ge=0)]
    total_nodes: Annotated[int, Meta(description="Nodes in the stored graph", ge=0)]
    total_edges: Annotated[int, Meta(description="Edges in the stored graph", ge=0)]
    session_count: Annotated[int, Meta(description="Sessions the graph was built from", ge=0)]
    params: GraphParams
    built_at: Timestamp
    analyzed_at: Timestamp | None
