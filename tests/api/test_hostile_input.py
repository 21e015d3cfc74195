"""Hostile input at every boundary — bodies, frames, query and path parameters, headers —
is refused in the documented shape, stores nothing, and never answers 5xx."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from api.errors import HTTP_CODES
from runtime.platform.json_input import MAX_DEPTH
from runtime.stores import schema
from runtime.stores.database import Database
from tests.conftest import Server, new_key
from tests.helpers import converse, next_turn, published_interview, sse_events, start_session

NUL = "\x00"


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and value == value.strip()


def _cursor(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Each is (what it is, as it goes in a URL — percent-encoded —, as a header, or None when
# no header can carry it). %ED%A0%80 is U+D800 as if in UTF-8: servers decode it to U+FFFD.
HOSTILE: list[tuple[str, str, str | None]] = [
    (label, quote(value, safe=""), value if _header_safe(value) else None)
    for label, value in [
        ("empty", ""),
        ("negative", "-1"),
        ("float", "1.5"),
        ("nan", "NaN"),
        ("huge float", "1e309"),
        ("superscript two", "²"),
        ("arabic-indic three", "٣"),
        ("5000 digits", "9" * 5000),
        ("u64 overflow id", "99999999999999999999-99999999999999999999"),
        ("nul inside", f"a{NUL}b"),
        ("newline", "1\n"),
        ("unicode", "é☃😀"),
        ("naive time", "2026-01-01T00:00:00"),
        ("time before year 1 in UTC", "0001-01-01T00:00:00+23:59"),
        ("time after 9999 in UTC", "9999-12-31T23:59:59-23:59"),
        ("naive cursor", _cursor(["2026-01-01T00:00:00", "x"])),
        ("cursor before year 1", _cursor(["0001-01-01T00:00:00+23:59", "x"])),
        ("cursor with nul id", _cursor(["2026-01-01T00:00:00+00:00", f"a{NUL}"])),
        ("cursor of numbers", _cursor([1, 2])),
        ("deep cursor", _cursor(b"[" * 5000 + b"]" * 5000)),
        ("cursor 5000 digits", _cursor(b"[" + b"9" * 5000 + b', "x"]')),
        ("cursor not base64", "%%%"),
    ]
] + [
    ("utf-8 surrogate", "%ED%A0%80", None),
]
# What a path parameter gets (the rest are about numbers, times and cursors).
PATH_LABELS = {
    "empty", "superscript two", "5000 digits", "nul inside", "newline", "unicode",
    "utf-8 surrogate",
}  # fmt: skip
# Path parameters that never reach a database: a NUL (or, decoded from a URL, anything
# that could be one) must be a 404 in the documented shape.
NUL_IDS = [quote(NUL, safe=""), quote(f"int_{NUL}", safe="")]


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    query: list[str]
    headers: list[str]
    json_body: bool


@dataclass
class World:
    """Real resources of one workspace, so that each request reaches its route's logic."""

    http: httpx.AsyncClient
    anon: httpx.AsyncClient
    ids: dict[str, str]
    token: str
    failures: list[str] = field(default_factory=list)

    def path(self, op: Operation, override: dict[str, str] | None = None) -> str:
        values = {
            "id": self._id_for(op.path),
            "section_id": "S1",
            "item_id": "Q1" if "/questions/" in op.path else "T1",
            "share_token": self.ids["share_token"],
            "delivery_id": self.ids["delivery"],
            "key": "transcript/x.txt",
            **(override or {}),
        }
        out = op.path
        for name, value in values.items():
            out = out.replace("{" + name + "}", value)
        return out

    def _id_for(self, path: str) -> str:
        for prefix, name in (
            ("/v1/interviews/", "interview"),
            ("/v1/sessions/", "session"),
            ("/v1/webhooks/", "webhook"),
            ("/v1/exports/", "export"),
            ("/v1/api-keys/", "api_key"),
        ):
            if path.startswith(prefix):
                return self.ids[name]
        return "x"

    def auth(self, op: Operation) -> dict[str, str]:
        respondent = op.path.endswith(("/messages", "/end", "/tickets"))
        return {"authorization": f"Bearer {self.token if respondent else self.ids['key']}"}

    async def send(
        self,
        op: Operation,
        url: str,
        label: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect_field: str | None = None,
    ) -> httpx.Response | None:
        """The response, or None after recording why it is not one the API may give."""
        body = content if content is not None else (b"{}" if op.json_body else None)
        sent_headers = {**self.auth(op), "content-type": "application/json", **(headers or {})}
        where = f"{op.method} {op.path} [{label}]"
        try:
            async with self.http.stream(
                op.method, url, content=body, headers=sent_headers
            ) as response:
                # A live stream that opened accepted the value: it may run for as long as
                # it is read (the interview feed never ends), so its answer is its status.
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    await response.aread()
        except httpx.HTTPError as exc:  # a stream that answered and then broke off
            self.failures.append(f"{where}: {type(exc).__name__}: {exc}")
            return None
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{where}: {status} {response.text[:200]}")
            return None
        if status >= 400 and response.headers.get("content-type", "").startswith("application/"):
            error = response.json().get("error", {})
            if error.get("code") != HTTP_CODES.get(status):
                self.failures.append(f"{where}: {status} outside the error shape: {response.text}")
            elif status == 400 and expect_field and error.get("field") != expect_field:
                self.failures.append(f"{where}: 400 names {error.get('field')!r}, not the param")
        return response


def _operations(doc: dict[str, Any]) -> list[Operation]:
    params = doc["components"]["parameters"]
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            if op["operationId"] == "streamWebSocket":
                continue  # not HTTP: test_websocket_paths_and_frames
            resolved = [
                params[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                for p in [*item.get("parameters", []), *op.get("parameters", [])]
            ]
            body = op.get("requestBody", {}).get("content", {})
            out.append(
                Operation(
                    method.upper(),
                    path,
                    op["operationId"],
                    [p["name"] for p in resolved if p["in"] == "query"],
                    [
                        p["name"]
                        for p in resolved
                        if p["in"] == "header" and p["name"].lower() != "x-request-id"
                    ],
                    "application/json" in body,
                )
            )
    return out


@pytest.fixture
async def world(server: Server, db: Database, anon: httpx.AsyncClient) -> AsyncIterator[World]:
    # The sweep sends thousands of requests: a plan without a limit (limits have their tests).
    key = await new_key(db, plan="unlimited")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        interview = await published_interview(http)
        who = await converse(anon, interview["share_token"], ["We plan our whole week in it."])
        hook = await http.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["session.completed"]}
        )
        tested = await http.post(f"/v1/webhooks/{hook.json()['id']}/test")
        export = await http.post("/v1/exports", json={"interview_id": interview["id"]})
        other_key = await http.post("/v1/api-keys", json={"name": "spare"})
        for made in (hook, tested, export, other_key):
            assert made.status_code < 300, made.text
        ids = {
            "key": key,
            "interview": interview["id"],
            "share_token": interview["share_token"],
            "session": who.id,
            "webhook": hook.json()["id"],
            "delivery": tested.json()["id"],
            "export": export.json()["id"],
            "api_key": other_key.json()["id"],
        }
        yield World(http, anon, ids, who.session["session_token"])


async def _documented(world: World) -> list[Operation]:
    return _operations((await world.http.get("/v1/openapi.json")).json())


async def _sweep(world: World, cases: list[tuple[Any, ...]], check_404: bool = False) -> None:
    """Send every (op, url, label, headers, field) case, a few at a time."""
    gate = asyncio.Semaphore(8)

    async def one(op: Operation, url: str, label: str, headers: Any, expect: Any) -> None:
        async with gate:
            response = await world.send(op, url, label, headers=headers, expect_field=expect)
        if check_404 and response is not None and response.status_code != 404:
            world.failures.append(f"{op.method} {op.path} [{label}]: not a 404")

    await asyncio.gather(*(one(*case) for case in cases))


def _path_names(op: Operation) -> list[str]:
    return [part[1:-1] for part in op.path.split("/") if part.startswith("{")]


async def test_every_path_parameter_of_every_route_refuses_hostile_ids(world: World) -> None:
    operations = await _documented(world)
    assert len(operations) > 40
    hostile = [h for h in HOSTILE if h[0] in PATH_LABELS]
    await _sweep(
        world,
        [
            (op, world.path(op, {name: encoded}), f"{name}={label}", None, None)
            for op in operations
            for name in _path_names(op)
            for label, encoded, _ in hostile
        ],
    )
    nuls = [
        (op, world.path(op, {name: nul}), f"{name}=NUL", None, None)
        for op in operations
        for name in _path_names(op)
        for nul in NUL_IDS
    ]
    await _sweep(world, nuls, check_404=True)
    assert world.failures == []


async def test_every_query_parameter_and_header_refuses_hostile_values(world: World) -> None:
    operations = await _documented(world)
    queries = [
        (op, f"{world.path(op)}?{name}={encoded}", f"?{name}={label}", None, name)
        for op in operations
        for name in (op.query if op.method == "GET" else [])
        for label, encoded, _ in HOSTILE
    ]
    headers = [
        (op, world.path(op), f"{name}: {label}", {name: raw}, None)
        for op in operations
        for name in op.headers
        for label, _, raw in HOSTILE
        if raw is not None
    ]
    assert len(queries) > 300 and len(headers) > 100
    await _sweep(world, queries + headers)
    assert world.failures == []


async def test_a_nul_in_the_query_is_refused_naming_the_parameter(world: World) -> None:
    response = await world.http.get("/v1/interviews", params={"cursor": f"x{NUL}"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "cursor"
    assert "U+0000" in response.json()["error"]["message"]
    listed = await world.http.get(f"/v1/interviews/{world.ids['interview']}/sessions?limit=²")
    assert listed.status_code == 400 and listed.json()["error"]["field"] == "limit"


# Bodies each JSON endpoint must refuse with 400, and the field named (None: the body).
HOSTILE_BODIES: list[tuple[str, bytes, str | None]] = [
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, None),
    ("nested past the limit", b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), None),
    ("5000-digit integer", b'{"title": ' + b"9" * 5000 + b"}", None),
    ("NaN", b'{"title": NaN}', None),
    ("Infinity", b'{"title": Infinity}', None),
    ("a number past float", b'{"title": 1e999}', "title"),
    ("lone surrogate", b'{"zz": "a\\ud800b"}', "zz"),
    ("low surrogate first", b'{"zz": "\\udc00\\ud800"}', "zz"),
    ("nul", b'{"zz": "a\\u0000b"}', "zz"),
    ("nul in a list", b'{"zz": ["ok", "\\u0000"]}', "zz"),
    ("surrogate deeper", b'{"scale": {"min_label": "\\udfff"}}', "scale.min_label"),
    ("surrogate in a name", b'{"a\\ud800": 1}', None),
    ("nul in a name", b'{"\\u0000": 1}', None),
    ("raw nul byte", b'{"title": "a\x00b"}', None),
    ("not utf-8", b'{"title": "\xff"}', None),
]


async def test_every_json_body_refuses_what_cannot_be_parsed_or_stored(
    world: World, db: Database
) -> None:
    before = await _stored(db)
    operations = [op for op in await _documented(world) if op.json_body]
    assert len(operations) >= 12
    for op in operations:
        client = world.anon if op.path.startswith("/v1/public/") else world.http
        for label, body, expected_field in HOSTILE_BODIES:
            where = f"{op.method} {op.path} [{label}]"
            headers = {**world.auth(op), "content-type": "application/json"}
            response = await client.request(
                op.method, world.path(op), content=body, headers=headers
            )
            error = response.json().get("error", {}) if response.content else {}
            if response.status_code != 400 or error.get("code") != "validation_error":
                world.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif error.get("field") != expected_field:
                world.failures.append(f"{where}: names {error.get('field')!r}")
    assert world.failures == []
    assert await _stored(db) == before, "a refused body changed what is stored"


async def _stored(db: Database) -> dict[str, Any]:
    """Every row count, and every guide: what a refused request must leave as it was."""
    async with db.connect() as conn:
        counts = {
            table.name: len((await conn.execute(select(table))).all())
            for table in schema.metadata.sorted_tables
            if table.name not in ("webhook_deliveries",)
        }
        guides = (
            await conn.execute(select(schema.interviews.c.id, schema.interviews.c.guide))
        ).all()
    return {"counts": counts, "guides": sorted((i, json.dumps(g)) for i, g in guides)}


async def test_a_text_field_with_a_surrogate_or_nul_is_refused_and_nothing_saved(
    world: World,
) -> None:
    http, iid = world.http, world.ids["interview"]
    guide_before = (await http.get(f"/v1/interviews/{iid}/guide")).json()
    for text in ("What \ud800 now?", "What \x00 now?"):
        body = json.dumps({"text": text}).encode()  # json.dumps escapes both as \uXXXX
        added = await http.post(
            f"/v1/interviews/{iid}/sections/S1/questions",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert added.status_code == 400, added.text
        assert added.json()["error"]["field"] == "text"
    assert (await http.get(f"/v1/interviews/{iid}/guide")).json() == guide_before
    named = await world.anon.post(
        f"/v1/public/interviews/{world.ids['share_token']}/sessions",
        content=json.dumps({"name": "Ada \x00"}).encode(),
    )
    assert named.status_code == 400 and named.json()["error"]["field"] == "name"


async def test_websocket_paths_and_frames(server: Server, world: World) -> None:
    key = {"authorization": f"Bearer {world.ids['key']}"}
    for path in (
        "/v1/sessions/%00/ws",
        f"/v1/sessions/{world.ids['session']}/ws?last_event_id=%00",
        # Its "no session …" reason is over the 123 bytes a close frame can carry.
        "/v1/sessions/" + quote("😀" * 60) + "/ws",
    ):
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            async with websockets.connect(server.ws_url + path, additional_headers=key) as ws:
                await ws.recv()
        # A close frame with a code (no frame at all would be code 1006).
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (4400, 4404), path
    interview = await published_interview(world.http)
    respondent = await start_session(world.anon, interview["share_token"])
    async with websockets.connect(respondent.session["ws_url"]) as ws:
        while json.loads(await ws.recv()).get("event") != "coverage.updated":
            pass  # until the turn's last event
        for raw, expected_field in [
            ('{"type": "message", "content": "a\\u0000b", "client_message_id": "m1"}', "content"),
            ('{"type": "message", "content": "a\\ud800", "client_message_id": "m1"}', "content"),
            (
                '{"type": "message", "content": "ok", "client_message_id": "\\udfff"}',
                "client_message_id",
            ),
            ("[" * 100_000 + "]" * 100_000, None),
            ('{"type": "message", "content": ' + "9" * 5000 + "}", None),
            ('{"type": "resume", "last_event_id": "1\\u0000"}', "last_event_id"),
            ('{"type": "resume", "last_event_id": "٣"}', "last_event_id"),
        ]:
            await ws.send(raw)
            async with asyncio.timeout(10):  # before the fix some frames got no answer at all
                reply = json.loads(await ws.recv())
            assert reply["type"] == "error", raw[:80]
            assert reply["error"]["code"] == "validation_error", reply
            if expected_field:
                assert reply["error"]["field"] == expected_field, reply
    transcript = await world.http.get(f"/v1/sessions/{respondent.id}/transcript")
    assert [m["role"] for m in transcript.json()["messages"]] == ["interviewer"]


async def test_a_streamed_export_refuses_an_extreme_since_before_it_starts(world: World) -> None:
    url = f"/v1/interviews/{world.ids['interview']}/transcripts"
    for since in ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"):
        for fmt in ("json", "csv"):
            response = await world.http.get(url, params={"since": since, "format": fmt})
            assert response.status_code == 400, response.text
            assert response.json()["error"]["field"] == "since"
    # The same instant written with an offset is the same filter as in UTC.
    shifted = await world.http.get(url, params={"since": "2000-01-01T05:00:00+05:00"})
    assert shifted.status_code == 200 and len(shifted.json()["sessions"]) == 1


async def test_a_blob_link_with_a_huge_expiry_is_refused(world: World) -> None:
    for expires in ("9" * 5000, "²", "99999999999999999999"):
        response = await world.anon.get(
            "/v1/blobs/transcript/x.txt", params={"expires": expires, "sig": "x"}
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


async def test_ten_concurrent_publishes_one_wins_the_rest_conflict(
    world: World, db: Database
) -> None:
    http = world.http
    draft = (await http.post("/v1/interviews", json={"title": "Race"})).json()
    iid = draft["id"]
    await http.post(f"/v1/interviews/{iid}/sections", json={"title": "Main"})
    await http.post(f"/v1/interviews/{iid}/sections/S1/questions", json={"text": "Why?"})

    async def edit(n: int) -> httpx.Response:
        return await http.post(
            f"/v1/interviews/{iid}/sections/S1/questions", json={"text": f"And {n}?"}
        )

    publishes = [http.post(f"/v1/interviews/{iid}/publish") for _ in range(10)]
    # Edits race the publishes too: whichever way each falls, the versions must agree.
    answers = await asyncio.gather(*publishes, *(edit(n) for n in range(4)))
    statuses = sorted(r.status_code for r in answers[:10])
    assert statuses == [200] + [409] * 9, [r.text for r in answers[:10]]
    assert all(
        r.json()["error"]["code"] == "conflict" for r in answers[:10] if r.status_code == 409
    )
    assert all(r.status_code == 201 for r in answers[10:]), [r.text for r in answers[10:]]
    view = (await http.get(f"/v1/interviews/{iid}")).json()
    guide = (await http.get(f"/v1/interviews/{iid}/guide")).json()
    gv = schema.guide_versions
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(gv.c.version, gv.c.guide)
                .where(gv.c.interview_id == iid)
                .order_by(gv.c.version)
            )
        ).all()
    versions = [r.version for r in rows if r.version > 0]
    # One publish, then one version per edit that landed after it: 1, 2, …, no gap.
    assert versions == list(range(1, view["guide_version"] + 1))
    assert view["status"] == "active" and guide["version"] == view["guide_version"]
    # The latest frozen version is the guide sessions get: every question, none lost.
    assert rows[-1].guide["sections"] == guide["sections"]
    assert len(guide["sections"][0]["items"]) == 5


async def test_a_guide_saved_with_a_lone_surrogate_stays_readable(
    world: World, db: Database
) -> None:
    """A row written before surrogates were refused (SQLite kept them inside JSON, which
    PostgreSQL's JSONB never accepted): it is shown, edited and interviewed on, with U+FFFD.
    On PostgreSQL no such row can exist, which is what the test checks there."""
    http = world.http
    interview = await published_interview(http)
    iid = interview["id"]
    t = schema.interviews
    if not db.sqlite:
        with pytest.raises(DBAPIError, match="Unicode"):
            async with db.begin() as conn:
                guide = (await conn.execute(select(t.c.guide).where(t.c.id == iid))).scalar_one()
                guide["sections"][0]["items"][0]["text"] = "What do you use \ud800 for?"
                await conn.execute(update(t).where(t.c.id == iid).values(guide=guide))
        return
    async with db.begin() as conn:
        guide = (await conn.execute(select(t.c.guide).where(t.c.id == iid))).scalar_one()
        guide["sections"][0]["items"][0]["text"] = "What do you use \ud800 for?"
        await conn.execute(update(t).where(t.c.id == iid).values(guide=guide))
        gv = schema.guide_versions
        await conn.execute(
            update(gv).where(gv.c.interview_id == iid, gv.c.version == 1).values(guide=guide)
        )
    shown = await http.get(f"/v1/interviews/{iid}/guide")
    assert shown.status_code == 200
    assert shown.json()["sections"][0]["items"][0]["text"] == "What do you use \ufffd for?"
    edited = await http.patch(f"/v1/interviews/{iid}/questions/Q2", json={"text": "Which plan?"})
    assert edited.status_code == 200, edited.text
    who = await start_session(world.anon, interview["share_token"])
    events = sse_events(world.anon, who.session["events_url"])
    try:
        _, opening = await next_turn(events)
    finally:
        await events.aclose()
    assert "What do you use \ufffd for?" in opening
    row = (await http.get(f"/v1/sessions/{who.id}")).json()
    assert row["status"] == "in_progress"


async def test_answers_int_cannot_read_do_not_stop_the_scripted_interviewer(world: World) -> None:
    interview = await published_interview(world.http)
    who = await start_session(world.anon, interview["share_token"])
    events = sse_events(world.anon, who.session["events_url"])
    try:
        await next_turn(events)
        assert (await who.say("We plan our whole week in it, every day.")).status_code == 202
        _, plan = await next_turn(events)
        assert "Which plan" in plan
        await who.say("²")  # str.isdigit() says yes; int() says no
        _, reask = await next_turn(events)
        assert reask.startswith("Sorry, I didn't catch which option"), reask
        await who.say("٢")  # Arabic-Indic two: option 2 still counts
        _, rating = await next_turn(events)
        assert "recommend" in rating, rating
        await who.say("9" * 5000)  # past int()'s 4,300 digits
        _, again = await next_turn(events)
        assert again.startswith("Sorry, I need a number"), again
    finally:
        await events.aclose()
    row = (await world.http.get(f"/v1/sessions/{who.id}")).json()
    assert row["status"] == "in_progress"
