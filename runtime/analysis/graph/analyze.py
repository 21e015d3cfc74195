"""PageRank and Louvain communities over a built graph: seeded, rounded, the same every time.

PageRank (networkx, damping ALPHA, edge weight = sessions in common) ranks a node by how
much of the conversation runs through it; Louvain (networkx.community.louvain_communities,
`seed`, `resolution`) groups nodes into communities, numbered 0, 1, … by size (largest
first), then by their least node id. Scores are rounded to DECIMALS places so that the same
input gives byte-identical output whatever the float noise of a platform.
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from runtime.analysis.graph.build import Built

SEED = 42
RESOLUTION = 1.0
# What a request may ask for (POST …/graph/analyze's body).
RESOLUTION_RANGE = (0.1, 10.0)
SEED_RANGE = (0, 2**31 - 1)
ALPHA = 0.85
DECIMALS = 6


def analyze(built: Built, seed: int = SEED, resolution: float = RESOLUTION) -> Built:
    """The graph with each node's pagerank_score and community."""
    if not built.nodes:
        return built
    graph = nx.Graph()
    graph.add_nodes_from(n.id for n in built.nodes)
    graph.add_weighted_edges_from((e.source, e.target, e.weight) for e in built.edges)
    rank = nx.pagerank(graph, alpha=ALPHA, weight="weight")
    found = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    ordered = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    community = {nid: number for number, members in enumerate(ordered) for nid in members}
    nodes = tuple(
        replace(n, pagerank_score=round(float(rank[n.id]), DECIMALS), community=community[n.id])
        for n in built.nodes
    )
    return replace(built, nodes=nodes)
