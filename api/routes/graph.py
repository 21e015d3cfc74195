"""Researcher endpoints for an interview's knowledge graph: read it, rebuild and analyse it."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, UnsetType
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, Reply
from api.query import choice, flag, integer
from api.responses import Json
from api.validation import Bool, Described, Int, Num
from runtime.access import keys
from runtime.analysis import concepts
from runtime.analysis.graph import analyze as analysis
from runtime.analysis.graph import service as graphs
from runtime.analysis.graph.views import Graph

CONCEPT_TYPE = choice(
    "ConceptType",
    "concept_type",
    concepts.CONCEPT_TYPES,
    "Only concepts of this type (topic, attribute, feeling)",
)
ENTITY_TYPE = choice(
    "EntityType",
    "entity_type",
    concepts.ENTITY_TYPES,
    "Only entities of this type (with concept_type too: either)",
)
MIN_PREVALENCE = integer(
    "MinPrevalence",
    "min_prevalence",
    "Only nodes mentioned by at least this many participants (sessions)",
    (0, graphs.MAX_MIN_PREVALENCE),
    0,
)
INCLUDE_QUOTES = flag(
    "IncludeQuotes",
    "include_quotes",
    f"true: each node with up to {graphs.QUOTES_PER_NODE} sentences that mention it, read "
    "from the stored messages",
)
GRAPH_LIMIT = integer(
    "GraphLimit",
    "limit",
    f"Nodes returned, highest PageRank first: 1 to {graphs.MAX_LIMIT}",
    (1, graphs.MAX_LIMIT),
    graphs.DEFAULT_LIMIT,
)


class GraphAnalyze(Fields):
    """How to analyse the graph; every field is optional."""

    seed: Annotated[
        int | UnsetType,
        Described(Int(*analysis.SEED_RANGE), f"Louvain's random seed (default {analysis.SEED})"),
    ] = UNSET
    resolution: Annotated[
        float | UnsetType,
        Described(
            Num(*analysis.RESOLUTION_RANGE),
            f"Louvain's resolution, {analysis.RESOLUTION_RANGE[0]} to "
            f"{analysis.RESOLUTION_RANGE[1]} (default {analysis.RESOLUTION}; above 1: smaller "
            "communities)",
        ),
    ] = UNSET
    include_test: Annotated[
        bool | UnsetType, Described(Bool(), "Build from preview (is_test) sessions too")
    ] = UNSET


_404 = {404: "No such interview in this workspace"}
op = Group("synthesis", "researcher", keys.SESSIONS_READ)
_METHOD = (
    "Nodes are the concepts (keyphrases) and entities (named things) that at least "
    f"{concepts.MIN_SESSIONS} completed sessions mention, the {graphs.MAX_LIMIT} most "
    "prevalent; prevalence counts participants (sessions), not mentions. Edges join two "
    "nodes said in one respondent message (co_occurs; mentioned_with between an entity and "
    "a concept), weighted by the sessions in which they meet. PageRank and Louvain "
    "communities are seeded: the same sessions give the same graph. See docs/synthesis.md."
)


@op(
    "GET /v1/interviews/{id}/graph",
    "getInterviewGraph",
    "Get an interview's knowledge graph",
    Reply(200, "The stored graph, filtered", Graph),
    errors=_404,
    query=(CONCEPT_TYPE, ENTITY_TYPE, MIN_PREVALENCE, INCLUDE_QUOTES, GRAPH_LIMIT),
    description="The graph as last built by POST …/graph/analyze; if it never was, it is "
    "built and analysed now (default seed and resolution, completed non-test sessions) and "
    "stored. Edges are those between the nodes returned. " + _METHOD,
)
async def get(call: Call[None]) -> Response:
    query = graphs.GraphQuery(
        concept_type=call.query(CONCEPT_TYPE),
        entity_type=call.query(ENTITY_TYPE),
        min_prevalence=call.query(MIN_PREVALENCE),
        include_quotes=call.query(INCLUDE_QUOTES),
        limit=call.query(GRAPH_LIMIT),
    )
    db = services_of(call.request).db
    return Json(await graphs.get(db, call.key.workspace_id, call.path["id"], query))


@op(
    "POST /v1/interviews/{id}/graph/analyze",
    "analyzeInterviewGraph",
    "Rebuild an interview's knowledge graph and re-run PageRank and Louvain",
    Reply(200, "The graph as rebuilt (the first page of its nodes)", Graph),
    errors=_404,
    body=GraphAnalyze,
    body_required=False,
    body_description="Optional: Louvain's seed and resolution, and whether preview sessions count.",
    scope=keys.SESSIONS_WRITE,
    description="Reads the interview's completed sessions again, rebuilds the graph, runs "
    "PageRank and Louvain, stores the result (replacing the previous one) and returns it. "
    + _METHOD,
)
async def analyze(call: Call[GraphAnalyze]) -> Response:
    body = await call.body()
    db = services_of(call.request).db
    graph = await graphs.analyze(
        db,
        call.key.workspace_id,
        call.path["id"],
        seed=analysis.SEED if isinstance(body.seed, UnsetType) else body.seed,
        resolution=analysis.RESOLUTION
        if isinstance(body.resolution, UnsetType)
        else body.resolution,
        include_test=False if isinstance(body.include_test, UnsetType) else body.include_test,
    )
    return Json(graph)


endpoints = op.endpoints
