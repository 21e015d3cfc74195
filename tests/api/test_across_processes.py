"""Two real API processes share rate limits, revocations and idempotency records."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from runtime.stores.database import Database
from tests.conftest import new_key
from tests.processes import serve_nodes


async def test_two_processes_share_limits_revocations_and_idempotency(
    node_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    env = {**node_env, "RAPPORT_RATE_LIMIT_PLANS": "default=1000/minute,tiny=4/minute"}
    async with serve_nodes(env, tmp_path) as (a, b):
        manager = await new_key(db)
        tiny = await new_key(db, plan="tiny")
        async with httpx.AsyncClient() as http:
            # Limits: four requests spread over both nodes use up the window on both.
            auth = {"authorization": f"Bearer {tiny}"}
            for node in (a, b, a, b):
                ok = await http.get(f"{node.url}/v1/interviews", headers=auth)
                assert ok.status_code == 200, ok.text
            assert (await http.get(f"{a.url}/v1/interviews", headers=auth)).status_code == 429
            assert (await http.get(f"{b.url}/v1/interviews", headers=auth)).status_code == 429

            # Idempotency: a retry sent to the other node gets the first node's answer.
            head = {"authorization": f"Bearer {manager}", "idempotency-key": uuid.uuid4().hex}
            body = {"title": "Retried across nodes"}
            first = await http.post(f"{a.url}/v1/interviews", json=body, headers=head)
            second = await http.post(f"{b.url}/v1/interviews", json=body, headers=head)
            assert first.status_code == second.status_code == 201
            assert second.json()["id"] == first.json()["id"]
            assert second.headers["idempotent-replayed"] == "true"

            # Revocation: revoked on one node, refused by the other on the very next request.
            made = await http.post(
                f"{a.url}/v1/api-keys",
                json={"name": "short-lived"},
                headers=head | {"idempotency-key": uuid.uuid4().hex},
            )
            doomed = {"authorization": f"Bearer {made.json()['key']}"}
            assert (await http.get(f"{b.url}/v1/interviews", headers=doomed)).status_code == 200
            revoked = await http.delete(
                f"{a.url}/v1/api-keys/{made.json()['id']}",
                headers={"authorization": f"Bearer {manager}"},
            )
            assert revoked.status_code == 204
            refused = await http.get(f"{b.url}/v1/interviews", headers=doomed)
            assert refused.status_code == 401
