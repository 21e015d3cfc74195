"""An interview's coverage read in a number of queries that does not grow with its sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import event

from runtime.access import keys
from runtime.coverage import reads
from runtime.stores.database import Database
from tests.helpers import published_interview, start_session


@contextlib.contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The SELECTs run on `db` meanwhile (SQLite's BEGIN left out)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_queries_do_not_grow_with_sessions_or_versions(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database, api_key: str
) -> None:
    interview = await published_interview(client)
    workspace_id = (await keys.authenticate(db, api_key)).workspace_id
    for _ in range(2):
        await start_session(anon, interview["share_token"])
    with counted(db) as few:
        two = await reads.for_interview(db, workspace_id, interview["id"])
    # An edit to the published guide publishes version 2; later sessions run on it.
    added = await client.post(
        f"/v1/interviews/{interview['id']}/sections/S1/questions", json={"text": "Anything else?"}
    )
    assert added.status_code == 201, added.text
    for _ in range(4):
        await start_session(anon, interview["share_token"])
    with counted(db) as more:
        six = await reads.for_interview(db, workspace_id, interview["id"])
    assert (two.sessions, six.sessions) == (2, 6)
    assert len(more) == len(few) == 4  # interview, sessions, guide versions, messages
    by_id = {item.item_id: item for item in six.items}
    assert [i.item_id for i in six.items] == ["Q1", "Q2", "Q3", "Q4"]
    assert (by_id["Q1"].sessions, by_id["Q4"].sessions) == (6, 4)
