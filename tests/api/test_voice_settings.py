"""An interview's voice-mode settings over the API: defaults, create and PATCH, the public
view, the documented errors, and the OpenAPI document that describes them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import published_interview

DEFAULTS = {
    "modes": ["text"],
    "voice": None,
    "speaking_rate": 1.0,
    "eagerness": "normal",
    "idle_reprompt_seconds": 15,
    "record_session": False,
}
VOICE = {
    "modes": ["text", "voice"],
    "voice": "en-gb+f3",
    "speaking_rate": 1.25,
    "eagerness": "relaxed",
    "idle_reprompt_seconds": None,
    "record_session": True,
}


def _settings(interview: dict[str, Any]) -> dict[str, Any]:
    return {name: interview[name] for name in DEFAULTS}


async def test_defaults_create_patch_and_duplicate(client: httpx.AsyncClient) -> None:
    plain = (await client.post("/v1/interviews", json={"title": "Plain"})).json()
    assert _settings(plain) == DEFAULTS
    created = await client.post("/v1/interviews", json={"title": "Spoken", **VOICE})
    assert created.status_code == 201, created.text
    assert _settings(created.json()) == VOICE
    iid = created.json()["id"]
    patched = await client.patch(
        f"/v1/interviews/{iid}", json={"modes": ["voice"], "idle_reprompt_seconds": 300}
    )
    assert patched.status_code == 200, patched.text
    assert _settings(patched.json()) == {**VOICE, "modes": ["voice"], "idle_reprompt_seconds": 300}
    assert _settings((await client.get(f"/v1/interviews/{iid}")).json()) == _settings(
        patched.json()
    )
    copy = (await client.post(f"/v1/interviews/{iid}/duplicate")).json()
    assert _settings(copy) == _settings(patched.json())


async def test_the_respondent_page_learns_the_modes(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    text = await published_interview(client)
    public = (await anon.get(f"/v1/public/interviews/{text['share_token']}")).json()
    assert public["modes"] == ["text"] and public["eagerness"] == "normal"
    both = await published_interview(client, modes=["voice", "text"], eagerness="brisk")
    public = (await anon.get(f"/v1/public/interviews/{both['share_token']}")).json()
    assert public["modes"] == ["voice", "text"] and public["eagerness"] == "brisk"
    assert "voice" not in public and "record_session" not in public


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"modes": []}, "modes", "a list of 1 to 2"),
        ({"modes": ["voice", "voice"]}, "modes", "the same value twice"),
        ({"modes": ["video"]}, "modes", "one of: voice, text"),
        ({"modes": "voice"}, "modes", "a list"),
        ({"modes": None}, "modes", "a list"),
        ({"voice": "en us"}, "voice", "a voice name"),
        ({"voice": "-v"}, "voice", "a voice name"),
        ({"voice": "x" * 101}, "voice", "1 to 100 characters"),
        ({"speaking_rate": 0.4}, "speaking_rate", "0.5 to 2.0"),
        ({"speaking_rate": 2.01}, "speaking_rate", "0.5 to 2.0"),
        ({"speaking_rate": "fast"}, "speaking_rate", "a number"),
        ({"speaking_rate": None}, "speaking_rate", "a number"),
        ({"eagerness": "eager"}, "eagerness", "one of: relaxed, normal, brisk"),
        ({"idle_reprompt_seconds": 4}, "idle_reprompt_seconds", "5 to 300"),
        ({"idle_reprompt_seconds": 301}, "idle_reprompt_seconds", "5 to 300"),
        ({"idle_reprompt_seconds": 7.5}, "idle_reprompt_seconds", "an integer"),
        ({"record_session": "yes"}, "record_session", "true or false"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str, says: str
) -> None:
    created = await client.post("/v1/interviews", json={"title": "Bad", **fields})
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["code"] == "validation_error" and error["field"] == field
    assert says in error["message"]
    iid = (await client.post("/v1/interviews", json={"title": "Good"})).json()["id"]
    patched = await client.patch(f"/v1/interviews/{iid}", json=fields)
    assert patched.status_code == 400 and patched.json()["error"]["field"] == field
    assert _settings((await client.get(f"/v1/interviews/{iid}")).json()) == DEFAULTS


async def test_the_document_describes_every_setting(anon: httpx.AsyncClient) -> None:
    doc = (await anon.get("/v1/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    body = schemas["InterviewUpdate"]["properties"]
    view = schemas["Interview"]["properties"]
    for name in DEFAULTS:
        assert body[name]["description"], name
        assert view[name]["description"], name
    assert body["modes"]["uniqueItems"] is True and body["modes"]["minItems"] == 1
    assert body["modes"]["items"]["enum"] == ["voice", "text"]
    assert (body["speaking_rate"]["minimum"], body["speaking_rate"]["maximum"]) == (0.5, 2.0)
    assert body["eagerness"]["enum"] == ["relaxed", "normal", "brisk"]
    public = schemas["PublicInterview"]["properties"]
    assert public["modes"]["description"] and public["eagerness"]["description"]
    codes = schemas["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert "mode_not_enabled" in codes
