"""A session's files: transcript formats, audio uploads in browser formats, signed links."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import audio_bytes, converse, published_interview, start_session

ANSWER = "# Not a heading\n- not a list, *not bold*"


@pytest.fixture
async def session_id(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> str:
    interview = await published_interview(client, title="Study *one*")
    who = await converse(anon, interview["share_token"], [ANSWER], name="Ada", email="a@x.io")
    return who.id


async def test_transcript_formats(client: httpx.AsyncClient, session_id: str) -> None:
    url = f"/v1/sessions/{session_id}/transcript"
    data = (await client.get(url)).json()
    assert data["turns"][0]["answer"] == ANSWER
    assert data["turns"][0]["question"] == data["messages"][0]["content"]
    text = await client.get(url, params={"format": "txt"})
    assert text.headers["content-type"].startswith("text/plain")
    # What was said is indented under its turn's heading.
    said = "\n".join("  " + line for line in ANSWER.split("\n"))
    assert "Respondent: Ada" in text.text and said in text.text
    question = data["messages"][0]["content"].split("\n")[-1]
    assert text.text.index(question) < text.text.index(said)
    # Times as people read them: to the second, in UTC, said so.
    started = data["messages"][0]["created_at"][:19].replace("T", " ")
    assert f"[{started} UTC] Interviewer:" in text.text
    md = await client.get(url, params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Study \\*one\\*\n")
    # What the respondent typed is quoted and escaped, never Markdown structure of its own
    # (tests/api/test_hostile_exports.py reads it back through two renderers).
    assert "> \\# Not a heading\n> \\- not a list, \\*not bold\\*" in md.text


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("webm", "audio/webm"), ("mp3", "audio/mpeg"), ("wav", "audio/wav")]
)
async def test_audio_upload_detects_type_and_duration(
    client: httpx.AsyncClient, session_id: str, fmt: str, content_type: str
) -> None:
    data = await audio_bytes(fmt, seconds=2.0)
    # The declared type is ignored: the bytes say what the file is.
    put = await client.put(
        f"/v1/sessions/{session_id}/audio",
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert put.status_code == 201, put.text
    stored = put.json()
    assert stored["content_type"] == content_type and stored["size_bytes"] == len(data)
    assert 1900 <= stored["duration_ms"] <= 2100
    listed = (await client.get(f"/v1/sessions/{session_id}/files")).json()
    audio = [f for f in listed["items"] if f["kind"] == "audio"]
    assert len(audio) == 1 and audio[0]["name"] == f"{session_id}.{fmt}"
    async with httpx.AsyncClient() as http:
        fetched = await http.get(audio[0]["url"])
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["content-type"] == content_type


async def test_audio_refusals(client: httpx.AsyncClient, session_id: str) -> None:
    url = f"/v1/sessions/{session_id}/audio"
    empty = await client.put(url, content=b"")
    assert empty.status_code == 400
    text = await client.put(url, content=b"hello, I am not a recording")
    assert text.status_code == 400 and "not an audio recording" in text.json()["error"]["message"]
    huge = await client.put(url, content=b"\0" * 2_000_001)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"

    async def chunked() -> object:
        for _ in range(40):
            yield b"\0" * 100_000

    streamed = await client.put(url, content=chunked())  # no Content-Length: counted as it comes
    assert streamed.status_code == 413
    assert (await client.put("/v1/sessions/ses_nope/audio", content=b"x")).status_code == 404


async def test_files_lists_transcripts_with_expiring_links(
    client: httpx.AsyncClient, session_id: str
) -> None:
    listed = (await client.get(f"/v1/sessions/{session_id}/files")).json()
    assert listed["expires_in"] == 3600
    kinds = {f["name"]: f for f in listed["items"]}
    txt = kinds[f"{session_id}-transcript.txt"]
    async with httpx.AsyncClient() as http:
        fetched = await http.get(txt["url"])
        assert fetched.status_code == 200 and "  # Not a heading\n" in fetched.text
        assert len(fetched.content) == txt["size_bytes"]
        forged = await http.get(txt["url"].replace(".txt", ".md"))
        assert forged.status_code == 403


async def test_respondent_uploads_with_the_session_token_across_origins(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await start_session(anon, interview["share_token"])
    url = f"/v1/sessions/{who.id}/audio"
    origin = {"origin": "https://customer.example"}
    preflight = await anon.options(url, headers={**origin, "access-control-request-method": "PUT"})
    assert (
        preflight.status_code == 200 and "PUT" in preflight.headers["access-control-allow-methods"]
    )
    put = await anon.put(url, content=await audio_bytes("webm"), headers={**who.auth, **origin})
    assert put.status_code == 201, put.text
    assert put.headers["access-control-allow-origin"] == "*"
    assert put.json()["content_type"] == "audio/webm"
    other = await start_session(anon, interview["share_token"])
    stolen = await anon.put(url, content=b"x", headers=other.auth)
    assert stolen.status_code == 401
    assert (await anon.put(url, content=b"x")).status_code == 401
    listed = (await client.get(f"/v1/sessions/{who.id}/files")).json()["items"]
    assert [f["kind"] for f in listed].count("audio") == 1
