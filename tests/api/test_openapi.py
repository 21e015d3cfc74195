"""GET /v1/openapi.json: a valid OpenAPI 3.1 document, covering exactly the app's routes, and
true to what the server really answers (every response of a real flow is checked against it).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.exceptions import ConnectionClosedError

from api.catalog import ENDPOINTS
from runtime.exports import records as exports
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.transcripts import pdf_files as transcript_pdf
from runtime.voice import decoding
from runtime.voice.types import Pcm
from tests.api.contract_steering import steering_flow
from tests.conftest import Server, new_key
from tests.helpers import (
    GUIDE,
    Event,
    audio_bytes,
    published_interview,
    sse_events,
    turn_written,
)
from tests.receiver import receiver
from tests.runtime.analysis.findings import seed
from tests.runtime.voice.speech import spoken

URI = "urn:rapport:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_NO_BODY = object()


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Contract:
    """Checks requests and responses against the served document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(
            URI, DRAFT202012.create_resource(spec)
        )
        self.checked: set[tuple[str, str, int]] = set()

    def resolve(self, pointer: str) -> Any:
        node: Any = self.spec
        for token in pointer.lstrip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def problems(self, pointer: str, instance: Any) -> list[str]:
        validator = Draft202012Validator(
            {"$ref": f"{URI}#{pointer}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    def operation(self, method: str, path: str) -> str:
        assert method in self.spec["paths"].get(path, {}), f"{method.upper()} {path} undocumented"
        return f"/paths/{_escape(path)}/{method}"

    def response(self, method: str, path: str, status: int) -> tuple[dict[str, Any], str]:
        pointer = f"{self.operation(method, path)}/responses/{status}"
        documented = self.resolve(f"{self.operation(method, path)}/responses")
        assert str(status) in documented, (
            f"{method.upper()} {path} answered {status}, which the document does not list"
        )
        reply = documented[str(status)]
        if "$ref" in reply:
            pointer = reply["$ref"].removeprefix("#")
            reply = self.resolve(pointer)
        return reply, pointer

    def check(self, response: httpx.Response, method: str, path: str) -> None:
        status = response.status_code
        reply, pointer = self.response(method, path, status)
        assert "X-Request-Id" in reply.get("headers", {}), f"{pointer} lacks X-Request-Id"
        assert response.headers.get("x-request-id"), "the server sent no X-Request-Id"
        content = reply.get("content")
        if not content:
            assert response.content == b"", f"{pointer} documents no body"
        else:
            media = response.headers.get("content-type", "").split(";")[0].strip()
            assert media in content, f"{method.upper()} {path} {status} sent {media}"
            if media == "application/json":
                found = self.problems(f"{pointer}/content/{_escape(media)}/schema", response.json())
                assert not found, f"{method.upper()} {path} {status}: {found}\n{response.text}"
        self.checked.add((method, path, status))

    def body_problems(self, method: str, path: str, body: Any) -> list[str]:
        pointer = f"{self.operation(method, path)}/requestBody/content/application~1json/schema"
        return self.problems(pointer, body)

    async def call(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        expect: int,
        path_params: dict[str, str] | None = None,
        *,
        body: Any = _NO_BODY,
        content: bytes | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request for a documented operation and check the answer against it."""
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if body is not _NO_BODY:
            found = self.body_problems(method, path, body)
            if expect < 300:
                assert not found, f"the document rejects a body the server accepts: {found}"
            kwargs["json"] = body
        elif content is not None:
            kwargs["content"] = content
            kwargs["headers"] = {"content-type": "application/json", **(headers or {})}
        url = path.format(**(path_params or {}))
        response = await http.request(method.upper(), url, **kwargs)
        assert response.status_code == expect, f"{method.upper()} {url}: {response.text}"
        self.check(response, method, path)
        return response

    def check_event(self, event: Event) -> None:
        frame = {"id": event.id, "event": event.event, "data": event.data}
        found = self.problems("/components/schemas/StreamEvent", frame)
        assert not found, f"{frame}: {found}"


@pytest.fixture
async def contract(anon: httpx.AsyncClient) -> Contract:
    response = await anon.get("/v1/openapi.json")
    assert response.status_code == 200, response.text
    return Contract(response.json())


def _app_operations(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            continue
        if isinstance(route, WebSocketRoute):
            out.add(("get", route.path))
        elif isinstance(route, Route):
            # OpenAPI names {key:path} plainly {key}.
            path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
            out |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
        else:
            raise AssertionError(f"a route the test does not know: {route!r}")
    return out


def _documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for p, item in spec["paths"].items() for m in item if m in HTTP_METHODS}


async def test_document_is_valid_openapi_31(contract: Contract) -> None:
    spec = contract.spec
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionToken"]["scheme"] == "bearer"
    assert schemes["ticket"] == {**schemes["ticket"], "type": "apiKey", "in": "query"}


async def test_every_route_is_documented_and_nothing_else(
    server: Server, contract: Contract
) -> None:
    routes = _app_operations(server.app.routes)
    documented = _documented(contract.spec)
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations the app does not serve"
    ws = [r.path for r in server.app.routes if isinstance(r, WebSocketRoute)]
    for path in ws:
        assert "101" in contract.spec["paths"][path]["get"]["responses"]


def test_request_bodies_are_the_declared_ones(contract: Contract) -> None:
    """Every body an endpoint declares is published, unchanged, under its name."""
    bodies = [e.operation.body for e in ENDPOINTS if e.operation.body is not None]
    assert bodies
    schemas = contract.spec["components"]["schemas"]
    for body in bodies:
        assert schemas.get(body.name) == body.shape.schema(), body.name
    used = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for item in contract.spec["paths"].values()
        for op in item.values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    assert used == {b.name for b in bodies}


async def _events_until(events: AsyncIterator[Event], kind: str, contract: Contract) -> list[str]:
    seen: list[str] = []
    async for event in events:
        contract.check_event(event)
        seen.append(event.event)
        if event.event == kind:
            return seen
    raise AssertionError(f"the stream ended before {kind}: {seen}")


async def test_real_responses_match_the_document(
    server: Server,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    db: Database,
    contract: Contract,
) -> None:
    c = contract
    # Interviews and the guide.
    created = await c.call(
        client,
        "post",
        "/v1/interviews",
        201,
        body={
            "title": "Doc study",
            "goal": "Check the document",
            "context": "B2B",
            "tone": "warm",
            "language": "en",
            "welcome_message": "Hi!",
            "closing_message": "Thank you!",
            "engine": "scripted",
            "max_duration_minutes": 30,
            "max_turns": None,
            "anonymous": False,
        },
    )
    iv = created.json()
    ids = {"id": iv["id"]}
    await c.call(client, "patch", "/v1/interviews/{id}", 200, ids, body={"max_turns": 40})
    await c.call(client, "post", "/v1/interviews/{id}/sections", 201, ids, body={"title": "Main"})
    await c.call(client, "post", "/v1/interviews/{id}/sections", 201, ids, body={"title": "More"})
    s2 = {**ids, "section_id": "S2"}
    await c.call(
        client, "patch", "/v1/interviews/{id}/sections/{section_id}", 200, s2, body={"title": "X"}
    )
    s1 = {**ids, "section_id": "S1"}
    for item in GUIDE:
        path = "/v1/interviews/{id}/sections/{section_id}/questions"
        await c.call(client, "post", path, 201, s1, body=item)
    task = {"text": "Open the settings page", "instructions": "Think aloud", "probe_budget": 0}
    await c.call(
        client, "post", "/v1/interviews/{id}/sections/{section_id}/tasks", 201, s1, body=task
    )
    q1, t1 = {**ids, "item_id": "Q1"}, {**ids, "item_id": "T1"}
    await c.call(
        client, "patch", "/v1/interviews/{id}/questions/{item_id}", 200, q1, body={"required": True}
    )
    await c.call(
        client, "patch", "/v1/interviews/{id}/tasks/{item_id}", 200, t1, body={"required": False}
    )
    reorder = "/v1/interviews/{id}/guide/reorder"
    await c.call(
        client, "post", reorder, 200, ids, body={"item_id": "Q3", "section_id": "S1", "after": "Q1"}
    )
    await c.call(client, "post", reorder, 200, ids, body={"section_id": "S2", "after": None})
    await c.call(client, "delete", "/v1/interviews/{id}/tasks/{item_id}", 200, t1)
    await c.call(client, "delete", "/v1/interviews/{id}/sections/{section_id}", 200, s2)
    await c.call(
        client,
        "post",
        "/v1/interviews/{id}/sections/{section_id}/questions",
        201,
        s1,
        body={"text": "Anything else?"},
    )
    await c.call(
        client, "delete", "/v1/interviews/{id}/questions/{item_id}", 200, {**ids, "item_id": "Q4"}
    )
    guide = (await c.call(client, "get", "/v1/interviews/{id}/guide", 200, ids)).json()
    assert [i["id"] for i in guide["sections"][0]["items"]] == ["Q1", "Q3", "Q2"]
    # Lifecycle.
    published = (await c.call(client, "post", "/v1/interviews/{id}/publish", 200, ids)).json()
    await c.call(client, "post", "/v1/interviews/{id}/pause", 200, ids)
    await c.call(client, "post", "/v1/interviews/{id}/resume", 200, ids)
    copy = (await c.call(client, "post", "/v1/interviews/{id}/duplicate", 201, ids)).json()
    extra = (await c.call(client, "post", "/v1/interviews/{id}/duplicate", 201, ids)).json()
    await c.call(client, "delete", "/v1/interviews/{id}", 204, {"id": extra["id"]})
    first = await c.call(client, "get", "/v1/interviews", 200, query={"limit": 1})
    assert first.json()["has_more"] is True
    cursor = first.json()["next_cursor"]
    await c.call(client, "get", "/v1/interviews", 200, query={"limit": 1, "cursor": cursor})
    await c.call(client, "get", "/v1/interviews", 200, query={"status": "active"})
    await c.call(client, "get", "/v1/interviews/{id}", 200, ids)

    # A respondent.
    share = {"share_token": published["share_token"]}
    await c.call(anon, "get", "/i/{share_token}", 200, share)
    await c.call(anon, "get", "/v1/public/interviews/{share_token}", 200, share)
    start = "/v1/public/interviews/{share_token}/sessions"
    who = {"name": "Ada", "email": "ada@example.com", "external_id": "u-1"}
    session = (await c.call(anon, "post", start, 201, share, body=who)).json()
    await c.call(anon, "post", start, 201, share, content=b"")  # the body is optional
    token = session["session_token"]
    resumed = await c.call(anon, "post", start, 200, share, body={"session_token": token})
    assert resumed.json()["session_id"] == session["session_id"]
    sid = {"id": session["session_id"]}
    auth = {"authorization": f"Bearer {token}"}
    links = await c.call(anon, "post", "/v1/sessions/{id}/tickets", 200, sid, headers=auth)
    async with anon.stream("GET", links.json()["events_url"]) as streamed:
        c.check(streamed, "get", "/v1/sessions/{id}/events")
    # The researcher's feed of the interview's sessions.
    async with client.stream("GET", f"/v1/interviews/{ids['id']}/live") as watched:
        c.check(watched, "get", "/v1/interviews/{id}/live")
    events = sse_events(anon, session["events_url"])
    assert (await _events_until(events, "turn.completed", c))[:2] == [
        "session.started",
        "turn.started",
    ]
    said = {"content": "We plan every sprint with it and share boards.", "client_message_id": "m1"}
    messages = "/v1/sessions/{id}/messages"
    posted = (await c.call(anon, "post", messages, 202, sid, body=said, headers=auth)).json()
    again = (await c.call(anon, "post", messages, 202, sid, body=said, headers=auth)).json()
    assert again == {**posted, "duplicate": True}
    await _events_until(events, "turn.completed", c)

    # The researcher watches it.
    await c.call(client, "get", "/v1/sessions/{id}/transcript", 200, sid)
    await c.call(client, "get", "/v1/sessions/{id}/transcript", 200, sid, query={"format": "md"})
    await c.call(client, "get", "/v1/sessions/{id}/transcript", 400, sid, query={"format": "doc"})
    audio_path = f"/v1/sessions/{sid['id']}/audio"
    uploaded = await client.put(audio_path, content=await audio_bytes("wav"))
    c.check(uploaded, "put", "/v1/sessions/{id}/audio")
    assert uploaded.status_code == 201 and uploaded.json()["content_type"] == "audio/wav"
    refused = await client.put(audio_path, content=b"not audio at all")
    assert refused.status_code == 400
    c.check(refused, "put", "/v1/sessions/{id}/audio")
    await c.call(client, "get", "/v1/sessions/{id}/pdf", 202, sid)
    services = server.app.state.services
    await transcript_pdf.ensure(
        services.db, services.blobs, sid["id"], services.settings.pdf_font_dirs
    )
    await c.call(client, "get", "/v1/sessions/{id}/pdf", 200, sid)
    await c.call(
        anon,
        "get",
        "/v1/sessions/{id}/pdf",
        404,
        sid,
        headers={"authorization": f"Bearer {await new_key(db)}"},
    )
    listed_files = await c.call(client, "get", "/v1/sessions/{id}/files", 200, sid)
    link = listed_files.json()["items"][0]["url"]
    c.check(await anon.get(link), "get", "/v1/blobs/{key}")
    c.check(await anon.get(link.replace("sig=", "sig=x")), "get", "/v1/blobs/{key}")
    exported = "/v1/interviews/{id}/transcripts"
    await c.call(client, "get", exported, 200, ids, query={"format": "csv"})
    await c.call(client, "get", exported, 200, ids, query={"include_audio": "true"})
    await c.call(client, "get", exported, 400, ids, query={"include_audio": "yes"})
    made = await c.call(
        client, "post", "/v1/exports", 202, body={"interview_id": iv["id"], "format": "csv"}
    )
    await c.call(client, "get", "/v1/exports/{id}", 200, {"id": made.json()["id"]})
    await c.call(client, "post", "/v1/exports", 400, body={"format": "xml"})
    await c.call(client, "post", "/v1/exports", 404, body={"interview_id": "int_nope"})
    draft = (await client.post("/v1/interviews", json={"title": "Not yet"})).json()
    await c.call(client, "post", "/v1/exports", 409, body={"interview_id": draft["id"]})
    await c.call(client, "get", "/v1/exports/{id}", 404, {"id": "exp_nope"})
    on_interview = {"interview_id": iv["id"], "status": "queued", "limit": 1}
    page = await c.call(client, "get", "/v1/exports", 200, query=on_interview)
    assert [e["id"] for e in page.json()["items"]] == [made.json()["id"]]
    await c.call(client, "get", "/v1/exports", 400, query={"status": "done"})
    made_id = {"id": made.json()["id"]}
    await c.call(client, "delete", "/v1/exports/{id}", 409, made_id)  # still queued
    await exports.failed(db, made_id["id"], "given up by the test")
    await c.call(client, "delete", "/v1/exports/{id}", 204, made_id)
    await c.call(client, "delete", "/v1/exports/{id}", 404, made_id)
    await c.call(client, "get", "/v1/sessions/{id}", 200, sid)
    sessions_path = "/v1/interviews/{id}/sessions"
    query = {"status": "in_progress", "since": "2000-01-01T00:00:00Z", "limit": 1}
    listed = (await c.call(client, "get", sessions_path, 200, ids, query=query)).json()
    assert listed["has_more"] is True
    await c.call(client, "get", sessions_path, 200, ids, query={"cursor": listed["next_cursor"]})
    preview = "/v1/interviews/{id}/preview-sessions"
    await c.call(client, "post", preview, 201, ids, body={"name": "Tester"})
    with_tests = {"include_test": "true"}
    await c.call(client, "get", sessions_path, 200, ids, query=with_tests)
    by_quality = {"sort": "quality_desc", "limit": 1}
    best = (await c.call(client, "get", sessions_path, 200, ids, query=by_quality)).json()
    after = {**by_quality, "cursor": best["next_cursor"]}
    await c.call(client, "get", sessions_path, 200, ids, query=after)
    await c.call(client, "get", sessions_path, 400, ids, query={"sort": "best"})
    await c.call(client, "get", "/v1/sessions/{id}/coverage", 200, sid)
    await _notes_and_console(c, client, anon, sid, posted["message_id"])
    await c.call(client, "get", "/v1/sessions/{id}/summary", 200, sid)
    interview_coverage = "/v1/interviews/{id}/coverage"
    await c.call(client, "get", interview_coverage, 200, ids, query=with_tests)
    await c.call(client, "get", interview_coverage, 400, ids, query={"include_test": "yes"})
    synthesis = "/v1/interviews/{id}/synthesis"
    await c.call(client, "get", synthesis, 404, ids)
    await c.call(client, "post", synthesis, 202, ids, body={"engine": "offline"})
    await c.call(client, "post", synthesis, 400, ids, body={"engine": "gpt"})
    await c.call(client, "get", synthesis, 200, ids)
    await c.call(client, "get", synthesis, 409, ids, query={"format": "md"})
    await c.call(client, "get", synthesis, 400, ids, query={"format": "docx"})
    await _findings_and_quotes(c, client, db, ids, sid)
    graph = "/v1/interviews/{id}/graph"
    await c.call(client, "get", graph, 200, ids, query={"include_quotes": "true"})
    await c.call(client, "get", graph, 400, ids, query={"limit": "0"})
    analyze = "/v1/interviews/{id}/graph/analyze"
    await c.call(client, "post", analyze, 200, ids, body={"seed": 1, "include_test": True})
    await c.call(client, "post", analyze, 400, ids, body={"resolution": 0})
    saturation = "/v1/interviews/{id}/saturation"
    await c.call(client, "get", saturation, 200, ids, query={"threshold": "0", **with_tests})
    await c.call(client, "get", saturation, 400, ids, query={"base_size": "0"})

    await steering_flow(c, client, anon)

    # The respondent ends it; the stream ends with it.
    ended = await c.call(anon, "post", "/v1/sessions/{id}/end", 200, sid, headers=auth)
    assert ended.json()["status"] == "completed"
    await c.call(anon, "post", "/v1/sessions/{id}/end", 200, sid, headers=auth)
    await _events_until(events, "session.completed", c)
    late = {"content": "one more thing", "client_message_id": "m2"}
    await c.call(anon, "post", messages, 409, sid, body=late, headers=auth)

    # Erasure: the researcher's receipt, the respondent's own; the stream says so; then 404.
    doomed = (await c.call(anon, "post", start, 201, share, body={"name": "Gone"})).json()
    gone = {"id": doomed["session_id"]}
    doomed_events = sse_events(anon, doomed["events_url"])
    await _events_until(doomed_events, "turn.completed", c)
    await c.call(client, "delete", "/v1/sessions/{id}", 200, gone)
    await _events_until(doomed_events, "session.deleted", c)
    await c.call(client, "delete", "/v1/sessions/{id}", 404, gone)
    own = (await c.call(anon, "post", start, 201, share, body={})).json()
    mine = {"id": own["session_id"]}
    own_token = {"authorization": f"Bearer {own['session_token']}"}
    await c.call(anon, "delete", "/v1/sessions/{id}", 401, mine, headers=auth)
    await c.call(anon, "delete", "/v1/sessions/{id}", 204, mine, headers=own_token)
    await c.call(anon, "delete", "/v1/sessions/{id}", 401, mine, headers=own_token)

    # An anonymous interview shows no respondent.
    hidden = await published_interview(client, anonymous=True)
    hidden_share = {"share_token": hidden["share_token"]}
    await c.call(anon, "post", start, 201, hidden_share, body={"name": "Bo"})
    shown = await c.call(client, "get", sessions_path, 200, {"id": hidden["id"]})
    assert shown.json()["items"][0]["respondent"] is None
    await c.call(client, "post", "/v1/interviews/{id}/close", 200, {"id": hidden["id"]})

    # A recorded utterance answers a voice interview; garbage is refused as documented.
    voiced = await published_interview(client, modes=["voice"])
    said_aloud = (
        await c.call(anon, "post", start, 201, {"share_token": voiced["share_token"]}, body={})
    ).json()
    spoken_auth = {"authorization": f"Bearer {said_aloud['session_token']}"}
    utterances = f"/v1/sessions/{said_aloud['session_id']}/utterances"
    wav = {**spoken_auth, "content-type": "audio/wav"}
    garbage = await anon.post(utterances, content=b"not audio", headers=wav)
    c.check(garbage, "post", "/v1/sessions/{id}/utterances")
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "not_audio"
    recording = decoding.wav(Pcm(spoken("yes I would like to answer the question", "en-us"), 16000))
    await turn_written(anon, said_aloud)
    heard = await anon.post(utterances, content=recording, headers=wav)
    c.check(heard, "post", "/v1/sessions/{id}/utterances")
    assert heard.status_code == 201 and heard.json()["text"], heard.text

    # 400: bodies and queries the server refuses, and the document refuses too.
    bad_bodies: list[Any] = [{"title": ""}, {"title": "ok", "colour": "red"}, {"title": 7}, []]
    for bad in bad_bodies:
        assert c.body_problems("post", "/v1/interviews", bad), bad
        await c.call(client, "post", "/v1/interviews", 400, body=bad)
    await c.call(client, "post", "/v1/interviews", 400, content=b"{not json")
    await c.call(client, "get", "/v1/interviews", 400, query={"limit": 0})
    await c.call(client, "get", "/v1/interviews", 400, query={"limit": 101})
    await c.call(client, "get", "/v1/interviews", 400, query={"status": "gone"})
    await c.call(client, "get", sessions_path, 400, ids, query={"since": "yesterday"})
    await c.call(client, "post", reorder, 400, ids, body={"after": None})
    ticket = links.json()["events_url"].split("ticket=", 1)[1]
    events_path = "/v1/sessions/{id}/events"
    await c.call(anon, "get", events_path, 400, sid, query={"ticket": ticket, "last_event_id": "x"})
    await c.call(anon, "post", messages, 400, sid, body={"content": "hi"}, headers=auth)

    # 401: no key, a wrong key, a wrong or missing session token, a forged ticket.
    await c.call(anon, "get", "/v1/interviews", 401)
    await c.call(anon, "post", "/v1/interviews", 401, body={"title": "x"})
    wrong = {"authorization": "Bearer rk_live_not-a-key"}
    await c.call(anon, "get", "/v1/interviews/{id}", 401, ids, headers=wrong)
    await c.call(anon, "post", messages, 401, sid, body=said)
    stranger = {"authorization": "Bearer st_not-a-token"}
    await c.call(anon, "post", "/v1/sessions/{id}/end", 401, sid, headers=stranger)
    await c.call(anon, "post", "/v1/sessions/{id}/tickets", 401, sid)
    await c.call(anon, "post", start, 401, share, body={"session_token": "st_not-a-token"})
    await c.call(anon, "get", events_path, 401, sid, query={"ticket": "1.forged"})

    # 404: another workspace's resources, and unknown ones.
    other = {"authorization": f"Bearer {await new_key(db)}"}
    await c.call(anon, "get", "/v1/interviews/{id}", 404, ids, headers=other)
    await c.call(anon, "get", "/v1/interviews/{id}/guide", 404, ids, headers=other)
    await c.call(anon, "get", sessions_path, 404, ids, headers=other)
    await c.call(anon, "get", "/v1/sessions/{id}", 404, sid, headers=other)
    await c.call(anon, "get", "/v1/sessions/{id}/coverage", 404, sid, headers=other)
    await c.call(anon, "get", "/v1/sessions/{id}/summary", 404, sid, headers=other)
    await c.call(anon, "get", "/v1/interviews/{id}/coverage", 404, ids, headers=other)
    await c.call(anon, "get", "/v1/interviews/{id}/graph", 404, ids, headers=other)
    await c.call(anon, "get", "/v1/interviews/{id}/saturation", 404, ids, headers=other)
    await c.call(anon, "get", "/v1/sessions/{id}/transcript", 404, sid, headers=other)
    await c.call(anon, "get", "/v1/sessions/{id}/files", 404, sid, headers=other)
    await c.call(anon, "get", "/v1/interviews/{id}/transcripts", 404, ids, headers=other)
    await c.call(anon, "get", events_path, 404, sid, headers=other)
    await c.call(
        client, "delete", "/v1/interviews/{id}/questions/{item_id}", 404, {**ids, "item_id": "Q99"}
    )
    await c.call(anon, "get", "/v1/public/interviews/{share_token}", 404, {"share_token": "nope"})

    # 409: illegal transitions and states.
    await c.call(client, "post", "/v1/interviews/{id}/publish", 409, ids)
    await c.call(client, "post", "/v1/interviews/{id}/pause", 409, {"id": copy["id"]})
    await c.call(client, "delete", "/v1/interviews/{id}", 409, ids)
    await c.call(anon, "post", start, 409, {"share_token": copy["share_token"]}, body={})
    await c.call(client, "post", "/v1/interviews/{id}/close", 200, ids)
    await c.call(client, "patch", "/v1/interviews/{id}", 409, ids, body={"title": "Later"})
    await c.call(client, "post", "/v1/interviews/{id}/sections", 409, ids, body={"title": "Late"})

    # 413: a body over the limit.
    huge = b'{"title": "' + b"x" * server.settings.max_body_bytes + b'"}'
    await c.call(client, "post", "/v1/interviews", 413, content=huge)
    await c.call(anon, "post", messages, 413, sid, content=huge, headers=auth)

    # API keys: created (shown once), listed, refused a scope it lacks, revoked.
    made = (
        await c.call(
            client, "post", "/v1/api-keys", 201, body={"name": "doc", "scopes": ["sessions:read"]}
        )
    ).json()
    narrow = {"authorization": f"Bearer {made['key']}"}
    await c.call(client, "get", "/v1/api-keys", 200, query={"limit": 1})
    await c.call(anon, "get", "/v1/api-keys", 403, headers=narrow)
    await c.call(anon, "post", "/v1/api-keys", 403, body={"name": "x"}, headers=narrow)
    await c.call(client, "delete", "/v1/api-keys/{id}", 204, {"id": made["id"]})
    await c.call(client, "delete", "/v1/api-keys/{id}", 404, {"id": made["id"]})
    await c.call(anon, "get", "/v1/api-keys", 401, headers=narrow)

    # Webhooks: CRUD, a test delivery to a real receiver, the log, a redelivery.
    async with receiver() as hook:
        hook_body = {"url": hook.url, "events": ["session.completed"], "description": "d"}
        made_hook = (await c.call(client, "post", "/v1/webhooks", 201, body=hook_body)).json()
        wid = {"id": made_hook["id"]}
        await c.call(client, "get", "/v1/webhooks", 200, query={"limit": 5})
        await c.call(client, "get", "/v1/webhooks/{id}", 200, wid)
        await c.call(client, "patch", "/v1/webhooks/{id}", 200, wid, body={"enabled": True})
        tried = (await c.call(client, "post", "/v1/webhooks/{id}/test", 200, wid)).json()
        await c.call(client, "get", "/v1/webhooks/{id}/deliveries", 200, wid)
        redeliver = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"
        await c.call(client, "post", redeliver, 202, {**wid, "delivery_id": tried["id"]})
        await c.call(client, "post", redeliver, 404, {**wid, "delivery_id": "dlv_nope"})
        await c.call(client, "post", "/v1/webhooks", 400, body={"url": "x", "events": []})
        await c.call(client, "delete", "/v1/webhooks/{id}", 204, wid)
        await c.call(client, "get", "/v1/webhooks/{id}", 404, wid)

    # Operations.
    await c.call(anon, "get", "/healthz", 200)
    await c.call(anon, "get", "/readyz", 200)
    await c.call(anon, "get", "/v1/openapi.json", 200)
    await c.call(anon, "get", "/docs", 200)
    await c.call(client, "get", "/metrics", 200)

    # Every documented success of every HTTP operation was seen and matched.
    successes = {
        (m, p, int(s))
        for p, item in c.spec["paths"].items()
        for m, op in item.items()
        for s in op["responses"]
        if s.startswith("2")
    }
    assert successes - c.checked == set(), "documented successes the flow did not exercise"


async def _notes_and_console(
    c: Contract,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    sid: dict[str, str],
    message_id: str,
) -> None:
    """The console's sign-in and a researcher's notes on the session."""
    notes = "/v1/sessions/{id}/notes"
    body = {"kind": "bookmark", "message_id": message_id, "body": "quote this"}
    note = (await c.call(client, "post", notes, 201, sid, body=body)).json()
    await c.call(client, "post", notes, 400, sid, body={"kind": "bookmark"})
    await c.call(client, "get", notes, 200, sid, query={"limit": 1})
    one = {**sid, "note_id": note["id"]}
    await c.call(client, "patch", notes + "/{note_id}", 200, one, body={"body": "edited"})
    await c.call(client, "delete", notes + "/{note_id}", 204, one)
    await c.call(client, "delete", notes + "/{note_id}", 404, one)
    ticket = (await c.call(client, "post", "/v1/console/tickets", 201)).json()["ticket"]
    as_ticket = {"authorization": f"Bearer {ticket}"}
    await c.call(anon, "get", "/v1/sessions/{id}", 200, sid, headers=as_ticket)
    await c.call(anon, "delete", "/v1/console/tickets/current", 204, headers=as_ticket)
    await c.call(anon, "get", "/v1/sessions/{id}", 401, sid, headers=as_ticket)
    await c.call(anon, "get", "/console", 200)


async def _findings_and_quotes(
    c: Contract, client: httpx.AsyncClient, db: Database, ids: dict[str, str], sid: dict[str, str]
) -> None:
    """Findings on the session's own words, a theme of a (seeded) synthesis promoted, quotes."""
    m = schema.messages
    async with db.connect() as conn:
        said = (
            await conn.execute(
                select(m.c.id, m.c.content).where(
                    m.c.session_id == sid["id"], m.c.role == "respondent"
                )
            )
        ).first()
        workspace_id = await conn.scalar(
            select(schema.interviews.c.workspace_id).where(schema.interviews.c.id == ids["id"])
        )
    assert said is not None and workspace_id is not None
    quote = {"session_id": sid["id"], "message_id": said.id, "quote": said.content[:20]}
    findings = "/v1/interviews/{id}/findings"
    body = {"type": "insight", "title": "Sprint planning", "evidence": [quote], "confidence": 0.5}
    made = (await c.call(client, "post", findings, 201, ids, body=body)).json()
    await c.call(client, "post", findings, 409, ids, body=body)
    await c.call(client, "post", findings, 400, ids, body={**body, "evidence": [{"quote": "x"}]})
    one = {**ids, "finding_id": made["id"]}
    await c.call(client, "get", findings, 200, ids, query={"type": "insight", "limit": 1})
    await c.call(client, "get", findings, 400, ids, query={"status": "done"})
    await c.call(client, "get", findings + "/{finding_id}", 200, one)
    await c.call(client, "patch", findings + "/{finding_id}", 200, one, body={"tags": ["a"]})
    bulk = {"findings": [{**body, "evidence": [quote, {**quote, "quote": "never said this"}]}]}
    upserted = await c.call(client, "post", findings + "/bulk", 200, ids, body=bulk)
    assert upserted.json()["quotes_dropped"] == 1
    result = {"summary": "", "themes": [seed.theme("th_1", "Boards", [sid["id"]], 1)]}
    words = seed.ThemeQuote("th_1", sid["id"], said.id, 0, 10, said.content[:10])
    await seed.synthesis(db, workspace_id, ids["id"], result, [words])
    promote = "/v1/interviews/{id}/synthesis/themes/{theme_id}/promote"
    await c.call(client, "post", promote, 201, {**ids, "theme_id": "th_1"})
    await c.call(client, "post", promote, 200, {**ids, "theme_id": "th_1"}, body={})
    await c.call(client, "post", promote, 404, {**ids, "theme_id": "th_9"})
    quotes = "/v1/interviews/{id}/quotes"
    await c.call(client, "get", quotes, 200, ids, query={"theme_id": "th_1", "limit": 5})
    await c.call(client, "get", quotes, 200, ids, query={"finding_id": made["id"]})
    await c.call(client, "delete", findings + "/{finding_id}", 204, one)
    await c.call(client, "get", findings + "/{finding_id}", 404, one)


async def test_websocket_frames_match_the_document(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, contract: Contract
) -> None:
    c = contract
    interview = await published_interview(client)
    start = f"/v1/public/interviews/{interview['share_token']}/sessions"
    session = (await anon.post(start, json={})).json()
    frames = "/components/schemas/WsServerFrame"
    sent = "/components/schemas/WsClientFrame"

    async with websockets.connect(session["ws_url"]) as ws:

        async def until(kind: str) -> dict[str, Any]:
            while True:
                frame: dict[str, Any] = json.loads(await ws.recv())
                assert not c.problems(frames, frame), (frame, c.problems(frames, frame))
                if not kind or kind in (frame.get("event"), frame.get("type")):
                    return frame

        await until("turn.completed")
        await ws.send(json.dumps({"type": "ping"}))
        await until("pong")
        say = {"type": "message", "content": "We plan sprints with it.", "client_message_id": "w1"}
        assert not c.problems(sent, say)
        await ws.send(json.dumps(say))
        seen: dict[str, dict[str, Any]] = {}
        while not {"ack", "turn.completed"} <= set(seen):
            frame = await until("")
            seen[frame.get("type") or frame["event"]] = frame
        assert seen["ack"]["duplicate"] is False
        resume = {"type": "resume", "last_event_id": "0"}
        assert not c.problems(sent, resume)
        await ws.send(json.dumps(resume))
        await until("session.started")
        await ws.send(json.dumps({"type": "dance"}))
        await until("error")
        await ws.send(json.dumps({"type": "end"}))
        await until("session.completed")

    # A refused handshake closes with 4000 + the HTTP status, as documented.
    bare = f"{server.ws_url}/v1/sessions/{session['session_id']}/ws"
    with pytest.raises(ConnectionClosedError) as refused:
        async with websockets.connect(bare) as ws:
            await ws.recv()
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401
    assert "4401" in c.spec["paths"]["/v1/sessions/{id}/ws"]["get"]["description"]
