"""Findings and quotes over HTTP: CRUD, validation naming each field, bulk, promotion, the
quotes list, scopes, and erasure leaving no analysis row that mentions the session."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from runtime.access import keys
from runtime.analysis.findings import limits as L
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database
from tests.conftest import Server
from tests.runtime.analysis.findings import seed

A = "Pricing was confusing and the plans overlapped, so I gave up."
B = "Support answered within minutes, which surprised me."


@dataclass(frozen=True)
class Study:
    workspace_id: str
    interview_id: str
    one: seed.Seeded
    two: seed.Seeded

    @property
    def base(self) -> str:
        return f"/v1/interviews/{self.interview_id}"

    def evidence(self, quote: str = "pricing was confusing", n: int = 1) -> dict[str, str]:
        said = self.one if n == 1 else self.two
        return {"session_id": said.session_id, "message_id": said.message_ids[0], "quote": quote}


@pytest.fixture
async def study(db: Database, api_key: str) -> Study:
    workspace_id = (await keys.authenticate(db, api_key)).workspace_id
    interview_id = await seed.interview(db, workspace_id)
    one = await seed.session(db, workspace_id, interview_id, [A], name="Ann")
    two = await seed.session(db, workspace_id, interview_id, [B], minutes=1)
    return Study(workspace_id, interview_id, one, two)


def _error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


async def test_crud(client: httpx.AsyncClient, study: Study) -> None:
    body = {
        "type": "insight",
        "title": "Pricing confuses people",
        "description": "Plans overlap",
        "priority": "high",
        "confidence": 0.6,
        "tags": ["pricing"],
        "evidence": [study.evidence(), study.evidence("answered within minutes", 2)],
    }
    created = await client.post(f"{study.base}/findings", json=body)
    assert created.status_code == 201, created.text
    f = created.json()
    assert (f["type"], f["status"], f["priority"], f["confidence"], f["prevalence"]) == (
        "insight",
        "emerging",
        "high",
        0.6,
        2,
    )
    assert [q["participant"] for q in f["evidence"]] == ["Ann", "Participant 2"]
    assert f["evidence"][0]["text"] == "Pricing was confusing"
    assert f["source"] == {"kind": "manual", "synthesis_id": None, "theme_id": None}
    url = f"{study.base}/findings/{f['id']}"
    assert (await client.get(url)).json() == f
    listed = (await client.get(f"{study.base}/findings", params={"priority": "high"})).json()
    assert [x["id"] for x in listed["items"]] == [f["id"]] and listed["has_more"] is False
    again = await client.post(
        f"{study.base}/findings", json={**body, "title": "pricing CONFUSES people."}
    )
    assert _error(again, 409)["code"] == "conflict"
    patched = await client.patch(url, json={"status": "established", "confidence": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["status"], patched.json()["confidence"]) == ("established", None)
    assert patched.json()["evidence"] == f["evidence"]
    assert (await client.delete(url)).status_code == 204
    assert _error(await client.get(url), 404)["code"] == "not_found"


async def test_a_create_with_an_idempotency_key_is_made_once(
    client: httpx.AsyncClient, study: Study
) -> None:
    body = {"type": "theme", "title": "Once"}
    headers = {"idempotency-key": "finding-once"}
    first = await client.post(f"{study.base}/findings", json=body, headers=headers)
    second = await client.post(f"{study.base}/findings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = await client.post(
        f"{study.base}/findings", json={**body, "title": "x"}, headers=headers
    )
    assert other.status_code == 409


async def test_every_field_is_validated_and_named(client: httpx.AsyncClient, study: Study) -> None:
    ok = {"type": "theme", "title": "T"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "T"}, "type"),
        ({"type": "theme"}, "title"),
        ({**ok, "type": "rumour"}, "type"),
        ({**ok, "title": ""}, "title"),
        ({**ok, "title": "x" * (L.TITLE_MAX + 1)}, "title"),
        ({**ok, "description": "x" * (L.DESCRIPTION_MAX + 1)}, "description"),
        ({**ok, "status": "done"}, "status"),
        ({**ok, "priority": "urgent"}, "priority"),
        ({**ok, "confidence": 1.5}, "confidence"),
        ({**ok, "confidence": "high"}, "confidence"),
        ({**ok, "prevalence": -1}, "prevalence"),
        ({**ok, "tags": [f"t{n}" for n in range(L.TAGS_MAX + 1)]}, "tags"),
        ({**ok, "tags": ["x" * (L.TAG_MAX + 1)]}, "tags"),
        ({**ok, "tags": ["a", "a"]}, "tags"),
        ({**ok, "evidence": [study.evidence()] * (L.EVIDENCE_MAX + 1)}, "evidence"),
        ({**ok, "evidence": "quote"}, "evidence"),
        ({**ok, "evidence": [study.evidence(), "quote"]}, "evidence[1]"),
        ({**ok, "evidence": [{"session_id": "s", "message_id": "m"}]}, "evidence[0].quote"),
        ({**ok, "evidence": [{**study.evidence(), "page": 1}]}, "evidence[0].page"),
        ({**ok, "evidence": [{**study.evidence(), "quote": ""}]}, "evidence[0].quote"),
        (
            {**ok, "evidence": [study.evidence(), study.evidence("I adored it")]},
            "evidence[1].quote",
        ),
        (
            {**ok, "evidence": [{**study.evidence(), "message_id": "msg_nope"}]},
            "evidence[0].message_id",
        ),
        (
            {**ok, "evidence": [{**study.evidence(), "session_id": study.two.session_id}]},
            "evidence[0].session_id",
        ),
        ({**ok, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        refused = _error(await client.post(f"{study.base}/findings", json=body))
        assert (refused["code"], refused["field"]) == ("validation_error", field), (body, refused)
    made = (await client.post(f"{study.base}/findings", json=ok)).json()
    url = f"{study.base}/findings/{made['id']}"
    for body, field in [
        ({"title": None}, "title"),
        ({"evidence": [study.evidence("nope, never")]}, "evidence[0].quote"),
    ]:
        assert _error(await client.patch(url, json=body))["field"] == field
    bulk = f"{study.base}/findings/bulk"
    for body, field in [
        ({}, "findings"),
        ({"findings": []}, "findings"),
        ({"findings": [ok] * (L.BULK_MAX + 1)}, "findings"),
        ({"findings": [ok, {"type": "theme"}]}, "findings[1].title"),
        (
            {"findings": [{**ok, "evidence": [{"quote": "q"}]}]},
            "findings[0].evidence[0].session_id",
        ),
        ({"findings": [{**ok, "tags": [1]}]}, "findings[0].tags"),
        ({"findings": [{**ok, "title": "?!"}]}, "findings[0].title"),
    ]:
        assert _error(await client.post(bulk, json=body))["field"] == field, body


async def test_a_quote_of_another_interview_is_refused(
    client: httpx.AsyncClient, db: Database, study: Study
) -> None:
    other = await seed.interview(db, study.workspace_id)
    theirs = await seed.session(db, study.workspace_id, other, [A])
    body = {
        "type": "theme",
        "title": "Foreign",
        "evidence": [
            {
                "session_id": theirs.session_id,
                "message_id": theirs.message_ids[0],
                "quote": "pricing was confusing",
            }
        ],
    }
    refused = _error(await client.post(f"{study.base}/findings", json=body))
    assert refused["field"] == "evidence[0].message_id"
    # In bulk it is dropped and counted.
    done = await client.post(f"{study.base}/findings/bulk", json={"findings": [body]})
    assert done.status_code == 200, done.text
    assert done.json()["quotes_dropped"] == 1
    assert done.json()["items"][0]["finding"]["evidence"] == []


async def test_bulk_merges_and_says_what_it_created(
    client: httpx.AsyncClient, study: Study
) -> None:
    url = f"{study.base}/findings/bulk"
    first = await client.post(
        url,
        json={
            "findings": [
                {
                    "type": "pattern",
                    "title": "Gave up",
                    "evidence": [study.evidence("so I gave up")],
                }
            ]
        },
    )
    assert first.status_code == 200, first.text
    again = await client.post(
        url,
        json={
            "findings": [
                {
                    "type": "pattern",
                    "title": "GAVE UP.",
                    "priority": "critical",
                    "evidence": [
                        study.evidence("so I gave up"),
                        study.evidence("surprised me", 2),
                        study.evidence("made up", 2),
                    ],
                }
            ]
        },
    )
    body = again.json()
    assert body["quotes_dropped"] == 1
    (item,) = body["items"]
    assert (
        item["created"] is False
        and item["finding"]["id"] == first.json()["items"][0]["finding"]["id"]
    )
    assert (item["finding"]["prevalence"], item["finding"]["priority"]) == (2, "critical")
    assert len(item["finding"]["evidence"]) == 2


async def test_a_theme_is_promoted_and_its_quotes_listed(
    client: httpx.AsyncClient, db: Database, study: Study
) -> None:
    one, two = study.one, study.two
    result = {
        "summary": "",
        "themes": [seed.theme("th_1", "Confusing pricing", [one.session_id, two.session_id], 2)],
        "divergent_views": [],
        "counts": {},
        "model": None,
    }
    quoted = [
        seed.ThemeQuote("th_1", one.session_id, one.message_ids[0], 0, 21, A[0:21]),
        seed.ThemeQuote("th_1", two.session_id, two.message_ids[0], 0, 16, B[0:16]),
        seed.ThemeQuote("dv_1/0", two.session_id, two.message_ids[0], 17, 31, B[17:31]),
    ]
    synthesis_id = await seed.synthesis(db, study.workspace_id, study.interview_id, result, quoted)
    url = f"{study.base}/synthesis/themes/th_1/promote"
    made = await client.post(url)
    assert made.status_code == 201, made.text
    finding = made.json()
    assert finding["source"] == {
        "kind": "synthesis",
        "synthesis_id": synthesis_id,
        "theme_id": "th_1",
    }
    assert (finding["title"], finding["prevalence"], len(finding["evidence"])) == (
        "Confusing pricing",
        2,
        2,
    )
    merged = await client.post(url, json={"status": "developing", "type": "theme"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == finding["id"] and merged.json()["status"] == "developing"
    assert (
        _error(await client.post(f"{study.base}/synthesis/themes/th_7/promote"), 404)["code"]
        == "not_found"
    )
    assert _error(await client.post(url, json={"type": "rumour"}))["field"] == "type"

    quotes = f"{study.base}/quotes"
    theme = (await client.get(quotes, params={"theme_id": "th_1"})).json()
    assert {(q["theme_id"], q["synthesis_id"], q["finding_id"]) for q in theme["items"]} == {
        ("th_1", synthesis_id, None)
    }
    assert len(theme["items"]) == 2
    side = (
        await client.get(quotes, params={"theme_id": "dv_1/0", "synthesis_id": synthesis_id})
    ).json()
    assert [q["text"] for q in side["items"]] == [B[17:31]]
    evidence = (await client.get(quotes, params={"finding_id": finding["id"]})).json()
    assert sorted(q["id"] for q in evidence["items"]) == sorted(
        q["id"] for q in finding["evidence"]
    )
    of_two = (await client.get(quotes, params={"session_id": two.session_id})).json()
    assert len(of_two["items"]) == 3 and {q["participant"] for q in of_two["items"]} == {
        "Participant 2"
    }
    # Every quote, page by page, newest first, each once.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        got = (
            await client.get(quotes, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        ).json()
        seen += [q["id"] for q in got["items"]]
        if not got["has_more"]:
            break
        cursor = got["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    assert _error(await client.get(quotes, params={"limit": 10_000}))["field"] == "limit"
    assert _error(await client.get(quotes, params={"cursor": "forged"}))["field"] == "cursor"


async def test_a_read_only_key_reads_but_cannot_write(
    server: Server, db: Database, client: httpx.AsyncClient, study: Study
) -> None:
    made = (
        await client.post(f"{study.base}/findings", json={"type": "theme", "title": "R"})
    ).json()
    readonly = await keys.create_key(
        db, study.workspace_id, "ro", (keys.SESSIONS_READ,), keys.DEFAULT_PLAN
    )
    auth = {"authorization": f"Bearer {readonly.plaintext}"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as ro:
        assert (await ro.get(f"{study.base}/findings")).status_code == 200
        assert (await ro.get(f"{study.base}/findings/{made['id']}")).status_code == 200
        assert (await ro.get(f"{study.base}/quotes")).status_code == 200
        writes = [
            ro.post(f"{study.base}/findings", json={"type": "theme", "title": "W"}),
            ro.patch(f"{study.base}/findings/{made['id']}", json={"title": "W"}),
            ro.delete(f"{study.base}/findings/{made['id']}"),
            ro.post(
                f"{study.base}/findings/bulk", json={"findings": [{"type": "theme", "title": "W"}]}
            ),
            ro.post(f"{study.base}/synthesis/themes/th_1/promote"),
        ]
        for write in writes:
            assert _error(await write, 403)["code"] == "forbidden"


async def test_another_workspace_sees_nothing(
    server: Server, db: Database, client: httpx.AsyncClient, study: Study
) -> None:
    made = (
        await client.post(f"{study.base}/findings", json={"type": "theme", "title": "Mine"})
    ).json()
    stranger = await keys.create_key(
        db, await seed.workspace(db), "x", keys.ALL_SCOPES, keys.DEFAULT_PLAN
    )
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {stranger.plaintext}"}
    ) as other:
        for response in [
            await other.get(f"{study.base}/findings"),
            await other.get(f"{study.base}/findings/{made['id']}"),
            await other.patch(f"{study.base}/findings/{made['id']}", json={"title": "Theirs"}),
            await other.delete(f"{study.base}/findings/{made['id']}"),
            await other.post(f"{study.base}/findings", json={"type": "theme", "title": "Theirs"}),
            await other.post(
                f"{study.base}/findings/bulk", json={"findings": [{"type": "theme", "title": "T"}]}
            ),
            await other.get(f"{study.base}/quotes"),
        ]:
            assert _error(response, 404)["code"] == "not_found"


ANALYSIS_TABLES = (
    schema.quotes,
    schema.findings,
    schema.syntheses,
    schema.session_analyses,
    schema.session_readings,
    schema.interview_graphs,
)


async def _seed_analysis(db: Database, study: Study, client: httpx.AsyncClient) -> None:
    """A finding citing both sessions, a synthesis naming them, their readings and a graph."""
    one, two = study.one, study.two
    made = await client.post(
        f"{study.base}/findings",
        json={
            "type": "theme",
            "title": "Both",
            "evidence": [study.evidence(), study.evidence("surprised me", 2)],
        },
    )
    assert made.status_code == 201, made.text
    result = {
        "summary": "",
        "themes": [seed.theme("th_1", "Both", [one.session_id, two.session_id], 2)],
        "divergent_views": [
            {
                "id": "dv_1",
                "title": "t",
                "description": "",
                "theme_id": "th_1",
                "sides": [
                    {"stance": "a", "prevalence": 1, "session_ids": [one.session_id]},
                    {"stance": "b", "prevalence": 1, "session_ids": [two.session_id]},
                ],
            }
        ],
        "counts": {},
        "model": None,
    }
    quoted = [
        seed.ThemeQuote("th_1", one.session_id, one.message_ids[0], 0, 7, A[0:7]),
        seed.ThemeQuote("th_1", two.session_id, two.message_ids[0], 0, 7, B[0:7]),
    ]
    synthesis_id = await seed.synthesis(db, study.workspace_id, study.interview_id, result, quoted)
    now = utcnow()

    def ref(s: seed.Seeded) -> dict[str, Any]:
        return {"session_id": s.session_id, "message_id": s.message_ids[0], "start": 0, "end": 7}

    async with db.begin() as conn:
        for s in (one, two):
            for table in (schema.session_analyses, schema.session_readings):
                await conn.execute(
                    insert(table).values(
                        session_id=s.session_id,
                        interview_id=study.interview_id,
                        fingerprint="f" * 64,
                        version="1",
                        data={"session_id": s.session_id},
                        created_at=now,
                    )
                )
        await conn.execute(
            insert(schema.interview_graphs).values(
                interview_id=study.interview_id,
                workspace_id=study.workspace_id,
                synthesis_id=synthesis_id,
                nodes=[
                    {"id": "c1", "kind": "concept", "prevalence": 2, "refs": [ref(one), ref(two)]}
                ],
                edges=[{"source": "c1", "target": "c1", "weight": 1, "refs": [ref(one)]}],
                params={"seed": 1},
                session_count=2,
                built_at=now,
            )
        )


async def _mentions(db: Database, session_id: str) -> list[str]:
    """Every analysis row whose stored content names the session."""
    found = []
    async with db.connect() as conn:
        for table in ANALYSIS_TABLES:
            for row in await conn.execute(select(table)):
                if session_id in json.dumps(dict(row._mapping), default=str):
                    found.append(table.name)
    return found


async def test_erasing_a_session_leaves_no_analysis_row_mentioning_it(
    client: httpx.AsyncClient, db: Database, study: Study
) -> None:
    await _seed_analysis(db, study, client)
    gone, kept = study.one.session_id, study.two.session_id
    assert set(await _mentions(db, gone)) == {t.name for t in ANALYSIS_TABLES} - {"findings"}
    erased = await client.delete(f"/v1/sessions/{gone}")
    assert erased.status_code == 200, erased.text
    assert await _mentions(db, gone) == []
    # The other session's analysis stays, counts included.
    assert set(await _mentions(db, kept)) == {t.name for t in ANALYSIS_TABLES} - {"findings"}
    finding = (await client.get(f"{study.base}/findings")).json()["items"][0]
    assert [q["session_id"] for q in finding["evidence"]] == [kept]
    async with db.connect() as conn:
        result = await conn.scalar(
            select(schema.syntheses.c.result).where(
                schema.syntheses.c.interview_id == study.interview_id
            )
        )
    assert result["themes"][0]["session_ids"] == [kept] and result["themes"][0]["prevalence"] == 2
    assert [s["session_ids"] for s in result["divergent_views"][0]["sides"]] == [[], [kept]]


async def test_deleting_a_draft_deletes_its_analysis(
    client: httpx.AsyncClient, db: Database, study: Study
) -> None:
    await _seed_analysis(db, study, client)
    assert (await client.delete(study.base)).status_code == 204
    async with db.connect() as conn:
        for table in ANALYSIS_TABLES:
            rows = await conn.execute(
                select(table).where(table.c.interview_id == study.interview_id)
            )
            assert rows.first() is None, table.name


async def test_an_erasure_racing_a_bulk_upsert_leaves_no_quote_of_the_session(
    client: httpx.AsyncClient, db: Database, study: Study
) -> None:
    for n in range(5):
        said = await seed.session(db, study.workspace_id, study.interview_id, [A], minutes=2 + n)
        quote = {"session_id": said.session_id, "message_id": said.message_ids[0], "quote": A[:21]}
        bulk = {"findings": [{"type": "theme", "title": "Raced", "evidence": [quote]}]}
        erased, upserted = await asyncio.gather(
            client.delete(f"/v1/sessions/{said.session_id}"),
            client.post(f"{study.base}/findings/bulk", json=bulk),
        )
        assert (erased.status_code, upserted.status_code) == (200, 200), upserted.text
        assert await _mentions(db, said.session_id) == []
