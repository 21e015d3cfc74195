"""Interviews over the researcher API: CRUD, pagination, lifecycle, workspace isolation."""

from __future__ import annotations

import httpx

from tests.conftest import Server, new_key
from tests.helpers import published_interview, start_session


async def test_create_get_update_only_given_fields(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/v1/interviews", json={"title": "Churn", "goal": "Why people leave", "tone": "calm"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "draft" and body["share_token"] and body["engine"] == "scripted"
    assert body["share_url"].endswith(f"/i/{body['share_token']}")
    patched = await client.patch(f"/v1/interviews/{body['id']}", json={"goal": "Why they stay"})
    assert patched.status_code == 200
    fetched = (await client.get(f"/v1/interviews/{body['id']}")).json()
    assert fetched["goal"] == "Why they stay"
    assert fetched["tone"] == "calm" and fetched["title"] == "Churn"
    assert fetched["session_counts"] == {
        "total": 0,
        "completed": 0,
        "in_progress": 0,
        "abandoned": 0,
    }


async def test_list_pages_with_cursor_and_status_filter(server: Server, db: object) -> None:
    from tests.conftest import new_key as make

    key = await make(db)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}
    ) as http:
        ids = [
            (await http.post("/v1/interviews", json={"title": f"I{n}"})).json()["id"]
            for n in range(5)
        ]
        await published_interview(http)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/v1/interviews", params=params)).json()
            assert len(page["items"]) <= 2
            seen += [i["id"] for i in page["items"]]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert len(seen) == 6 and len(set(seen)) == 6
        assert seen[1:] == list(reversed(ids)), "newest first"
        active = (await http.get("/v1/interviews", params={"status": "active"})).json()
        assert [i["status"] for i in active["items"]] == ["active"]
        bad = await http.get("/v1/interviews", params={"limit": "1000"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"
        bad_cursor = await http.get("/v1/interviews", params={"cursor": "nonsense!"})
        assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["field"] == "cursor"


async def test_lifecycle_and_illegal_transitions(client: httpx.AsyncClient) -> None:
    draft = (await client.post("/v1/interviews", json={"title": "Empty"})).json()
    empty = await client.post(f"/v1/interviews/{draft['id']}/publish")
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "conflict"
    interview = await published_interview(client)
    base = f"/v1/interviews/{interview['id']}"
    for action, expected in [
        ("pause", 200),
        ("pause", 409),
        ("resume", 200),
        ("resume", 409),
        ("publish", 409),
        ("close", 200),
        ("resume", 409),
        ("close", 409),
    ]:
        response = await client.post(f"{base}/{action}")
        assert response.status_code == expected, (action, response.text)
        if expected == 409:
            assert response.json()["error"]["code"] == "conflict"
    assert (await client.get(base)).json()["status"] == "closed"
    assert (await client.delete(base)).status_code == 409, "only drafts can be deleted"
    edit = await client.patch(base, json={"title": "x"})
    assert edit.status_code == 409


async def test_paused_and_closed_interviews_refuse_sessions(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    token = interview["share_token"]
    await client.post(f"/v1/interviews/{interview['id']}/pause")
    paused = await anon.post(f"/v1/public/interviews/{token}/sessions", json={})
    assert paused.status_code == 409 and "paused" in paused.json()["error"]["message"]
    info = (await anon.get(f"/v1/public/interviews/{token}")).json()
    assert info["status"] == "paused" and info["accepting_sessions"] is False
    await client.post(f"/v1/interviews/{interview['id']}/close")
    closed = await anon.post(f"/v1/public/interviews/{token}/sessions", json={})
    assert closed.status_code == 409 and "closed" in closed.json()["error"]["message"]
    missing = await anon.post("/v1/public/interviews/nope/sessions", json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_delete_draft_and_duplicate(client: httpx.AsyncClient) -> None:
    interview = await published_interview(client)
    copy = await client.post(f"/v1/interviews/{interview['id']}/duplicate")
    assert copy.status_code == 201
    dup = copy.json()
    assert dup["status"] == "draft" and dup["title"] == "Onboarding study (copy)"
    assert dup["share_token"] != interview["share_token"]
    guide = (await client.get(f"/v1/interviews/{dup['id']}/guide")).json()
    assert [i["id"] for i in guide["sections"][0]["items"]] == ["Q1", "Q2", "Q3"]
    assert (await client.delete(f"/v1/interviews/{dup['id']}")).status_code == 204
    assert (await client.get(f"/v1/interviews/{dup['id']}")).status_code == 404


async def test_a_key_never_sees_another_workspace(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient, db: object
) -> None:
    interview = await published_interview(client)
    respondent = await start_session(anon, interview["share_token"])
    other = await new_key(db)  # type: ignore[arg-type]
    headers = {"authorization": f"Bearer {other}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as intruder:
        for method, path in [
            ("GET", f"/v1/interviews/{interview['id']}"),
            ("PATCH", f"/v1/interviews/{interview['id']}"),
            ("POST", f"/v1/interviews/{interview['id']}/pause"),
            ("GET", f"/v1/interviews/{interview['id']}/guide"),
            ("GET", f"/v1/interviews/{interview['id']}/sessions"),
            ("GET", f"/v1/sessions/{respondent.id}"),
            ("GET", f"/v1/sessions/{respondent.id}/transcript"),
            ("GET", f"/v1/sessions/{respondent.id}/events"),
        ]:
            response = await intruder.request(method, path, json={} if method != "GET" else None)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "not_found"
        listed = (await intruder.get("/v1/interviews")).json()
        assert interview["id"] not in [i["id"] for i in listed["items"]]


async def test_authentication_errors(anon: httpx.AsyncClient) -> None:
    missing = await anon.get("/v1/interviews")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await anon.get("/v1/interviews", headers={"authorization": "Bearer rk_live_nope"})
    assert wrong.status_code == 401


async def test_language_is_a_bcp47_tag_cldr_knows_stored_canonically(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/v1/interviews", json={"title": "Churn", "language": "PT-br"})
    assert created.status_code == 201 and created.json()["language"] == "pt-BR"
    interview_id = created.json()["id"]
    for bad in ("string", "en_US", "und", "tlh"):
        refused = await client.patch(f"/v1/interviews/{interview_id}", json={"language": bad})
        assert refused.status_code == 400, bad
        error = refused.json()["error"]
        assert error["code"] == "validation_error" and error["field"] == "language", bad
        assert "BCP 47" in error["message"], bad
    kept = (await client.get(f"/v1/interviews/{interview_id}")).json()
    assert kept["language"] == "pt-BR"  # a refused PATCH changes nothing
    patched = await client.patch(f"/v1/interviews/{interview_id}", json={"language": "zh-hant"})
    assert patched.json()["language"] == "zh-Hant"


async def test_the_respondent_page_learns_which_way_the_language_is_written(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    for language, direction in (("he", "rtl"), ("ar-EG", "rtl"), ("ja", "ltr")):
        created = await client.post("/v1/interviews", json={"title": "t", "language": language})
        public = await anon.get(f"/v1/public/interviews/{created.json()['share_token']}")
        assert public.status_code == 200
        assert public.json()["direction"] == direction, language
