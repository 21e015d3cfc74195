"""GET /v1/interviews/{id}/saturation over HTTP: the curve, the parameters and their checks."""

from __future__ import annotations

import httpx

from runtime.stores.database import Database
from tests.conftest import Server
from tests.runtime.analysis.corpora import add_sessions, interview, key_for, saturation_corpus


async def test_saturation_over_http(server: Server, db: Database) -> None:
    workspace_id, interview_id = await interview(db)
    ids = await add_sessions(db, workspace_id, interview_id, saturation_corpus().sessions)
    await add_sessions(db, workspace_id, interview_id, [["A new zebra crossing."]] * 2,
                       first=50, is_test=True)  # fmt: skip
    key = await key_for(db, workspace_id)
    path = f"/v1/interviews/{interview_id}/saturation"
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=20
    ) as http:
        found = (await http.get(path)).json()
        assert (found["base_size"], found["run_length"], found["threshold"]) == (4, 2, 0.05)
        assert found["recommendation"] == "saturated" and found["saturated_at"] == 14
        assert found["total_sessions"] == 30 and [p["session_id"] for p in found["curve"]] == ids
        assert found["curve"][0]["new_information_ratio"] is None
        strict = (await http.get(path, params={"threshold": "0", "base_size": 6})).json()
        assert strict["base_size"] == 6 and strict["base_concepts"] == 12
        with_tests = (await http.get(path, params={"include_test": "true"})).json()
        # Two test sessions at the end bring one new concept: the latest run is not saturated.
        assert with_tests["total_sessions"] == 32 and with_tests["recommendation"] != "saturated"
        for query, field in (
            ({"base_size": 0}, "base_size"),
            ({"base_size": "four"}, "base_size"),
            ({"run_length": 51}, "run_length"),
            ({"threshold": "1.5"}, "threshold"),
            ({"threshold": "nan"}, "threshold"),
            ({"include_test": "1"}, "include_test"),
        ):
            bad = await http.get(path, params=query)
            assert bad.status_code == 400, query
            assert bad.json()["error"] == {
                "code": "validation_error", "message": bad.json()["error"]["message"],
                "field": field,
            }  # fmt: skip
