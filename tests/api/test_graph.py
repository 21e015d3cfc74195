"""GET /v1/interviews/{id}/graph and POST …/graph/analyze over HTTP, on a planted interview."""

from __future__ import annotations

import httpx
import pytest

from runtime.access import keys
from runtime.stores.database import Database
from tests.conftest import Server
from tests.runtime.analysis.corpora import add_sessions, graph_corpus, interview, key_for


@pytest.fixture
async def planted(db: Database) -> tuple[str, str]:
    workspace_id, interview_id = await interview(db)
    await add_sessions(db, workspace_id, interview_id, graph_corpus().sessions)
    return workspace_id, interview_id


def client_of(server: Server, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=20
    )


async def test_the_graph_its_filters_and_its_quotes(
    server: Server, db: Database, planted: tuple[str, str]
) -> None:
    workspace_id, interview_id = planted
    async with client_of(server, await key_for(db, workspace_id)) as http:
        path = f"/v1/interviews/{interview_id}/graph"
        whole = await http.get(path)
        assert whole.status_code == 200, whole.text
        graph = whole.json()
        assert graph["nodes"][0]["label"] == "battery life"
        assert graph["session_count"] == 32 and graph["node_count"] == graph["total_nodes"] == 8
        assert "quotes" not in graph["nodes"][0]
        products = (await http.get(path, params={"entity_type": "product"})).json()
        assert [n["label"] for n in products["nodes"]] == ["Acme Cloud"]
        quoted = (await http.get(path, params={"include_quotes": "true", "limit": 2})).json()
        assert quoted["node_count"] == 2
        assert all(q["text"] for n in quoted["nodes"] for q in n["quotes"])
        common = (await http.get(path, params={"min_prevalence": 17})).json()
        assert {n["label"] for n in common["nodes"]} == {"battery life", "Acme Cloud"}
        for query, field in (
            ({"limit": 201}, "limit"),
            ({"limit": 0}, "limit"),
            ({"concept_type": "verb"}, "concept_type"),
            ({"min_prevalence": "-1"}, "min_prevalence"),
            ({"include_quotes": "yes"}, "include_quotes"),
        ):
            bad = await http.get(path, params=query)
            assert bad.status_code == 400, query
            assert bad.json()["error"]["code"] == "validation_error"
            assert bad.json()["error"]["field"] == field


async def test_analyze_rebuilds_with_a_validated_body(
    server: Server, db: Database, planted: tuple[str, str]
) -> None:
    workspace_id, interview_id = planted
    path = f"/v1/interviews/{interview_id}/graph/analyze"
    async with client_of(server, await key_for(db, workspace_id)) as http:
        first = await http.post(path)
        assert first.status_code == 200, first.text
        assert first.json()["params"]["seed"] == 42
        again = await http.post(path, json={"seed": 3, "resolution": 1.5})
        assert again.status_code == 200 and again.json()["params"]["resolution"] == 1.5
        # A new session is in the rebuilt graph.
        await add_sessions(db, workspace_id, interview_id, [["The battery life."]], first=100)
        rebuilt = (await http.post(path, json={"seed": 3, "resolution": 1.5})).json()
        assert rebuilt["session_count"] == 33
        stored = (await http.get(f"/v1/interviews/{interview_id}/graph")).json()
        assert stored["session_count"] == 33 and stored["nodes"] == rebuilt["nodes"]
        for body, field in (({"resolution": 0}, "resolution"), ({"seed": -1}, "seed"),
                            ({"colour": 1}, "colour")):  # fmt: skip
            bad = await http.post(path, json=body)
            assert bad.status_code == 400 and bad.json()["error"]["field"] == field, bad.text


async def test_scopes_and_workspaces(
    server: Server, db: Database, planted: tuple[str, str]
) -> None:
    workspace_id, interview_id = planted
    read_only = await key_for(db, workspace_id, (keys.SESSIONS_READ,))
    async with client_of(server, read_only) as http:
        assert (await http.get(f"/v1/interviews/{interview_id}/graph")).status_code == 200
        denied = await http.post(f"/v1/interviews/{interview_id}/graph/analyze")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    other, _ = await interview(db)
    async with client_of(server, await key_for(db, other)) as http:
        for found in (
            await http.get(f"/v1/interviews/{interview_id}/graph"),
            await http.post(f"/v1/interviews/{interview_id}/graph/analyze"),
            await http.get(f"/v1/interviews/{interview_id}/saturation"),
        ):
            assert found.status_code == 404 and found.json()["error"]["code"] == "not_found"
