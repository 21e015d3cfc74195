"""The Markdown report, read by a CommonMark and a GitHub renderer: our structure, and only ours."""

from __future__ import annotations

import cmarkgfm
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt
from markdown_it.token import Token

from runtime.analysis.synthesis.report_md import markdown
from runtime.transcripts import neutralize
from tests.runtime.analysis.synthesis import seeding

HOSTILE_TITLE = "Pricing # [study](javascript:alert(1)) <b>x</b>"


def tokens(text: str) -> list[Token]:
    flat: list[Token] = []
    for token in MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(text):
        flat.append(token)
        flat.extend(token.children or ())
    return flat


def shown(inline: Token) -> str:
    """An inline token's text as a reader sees it: escapes undone, soft breaks as newlines."""
    kinds = ("text", "text_special", "softbreak")
    assert all(c.type in kinds for c in inline.children or ()), inline.children
    return "".join("\n" if c.type == "softbreak" else c.content for c in inline.children or ())


def quoted(found: list[Token]) -> list[str]:
    """Each block quote's first paragraph as a reader sees it: the words quoted."""
    out, depth, first = [], 0, False
    for t in found:
        if t.type == "blockquote_open":
            depth, first = depth + 1, True
        elif t.type == "blockquote_close":
            depth -= 1
        elif t.type == "inline" and depth and first:
            out.append(shown(t))
            first = False
    return out


def test_the_structure_is_the_reports_own() -> None:
    s = seeding.view()
    text = markdown(s, HOSTILE_TITLE)
    found = tokens(text)
    headings = [
        (t.tag, found[i + 1].content) for i, t in enumerate(found) if t.type == "heading_open"
    ]
    assert headings[0][0] == "h1" and [tag for tag, _ in headings].count("h1") == 1
    assert [c for tag, c in headings if tag == "h2"] == [
        "Summary", "Themes", "Divergent views", "Counts"
    ]  # fmt: skip
    assert [c for tag, c in headings if tag == "h3"] == [
        "1. Pricing is confusing", "2. Support is quick", "Is the price fair?",
    ]  # fmt: skip
    assert [c for tag, c in headings if tag == "h4"] == [
        "A joke (1 participant)",
        "Fair (1 participant)",
    ]
    # One block quote per quote, whose first paragraph reads as the words themselves.
    every = [q for t in s.themes for q in t.quotes] + [
        q for v in s.divergent_views for side in v.sides for q in side.quotes
    ]
    assert sum(t.type == "blockquote_open" for t in found) == len(every) == 7
    assert quoted(found) == [q.text for q in every]
    assert "4 of 5 participants (80%)" in text and "1 of 5 participants (20%)" in text
    assert "Made by the offline engine · generated 2026-11-21 10:30:00 UTC · 5 sessions" in text
    assert "- **Quotes dropped:** 2 (proposed, but not found in the stored messages)" in text
    for q in every:
        assert f"— {neutralize.md_inline(q.participant)} · session" in text


def test_hostile_text_is_inert() -> None:
    text = markdown(seeding.view(), HOSTILE_TITLE)
    rendered = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    for tag in ("<a ", "<img", "<script", "<b>", "<table", "<code", "<hr", "<ol", "<pre"):
        assert tag not in rendered, tag
    # The forged heading and list stay inside the quote, as text.
    assert rendered.count("<h1>") == 1 and "<h1>Forged" not in rendered
    assert "# Forged heading" in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[click](javascript:alert(1))" in rendered
    # A summary line starting with "#" or four spaces is no heading and no code.
    assert "# Not a heading either" in rendered and "<h1>Not" not in rendered
    indented = seeding.view(summary="First.\n\n    not code\n1. not a list")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown(indented, "t"))
    assert "<pre" not in html and "<ol" not in html and "not code" in html


def test_an_unfinished_synthesis_says_so() -> None:
    running = seeding.view(
        status="running", summary=None, themes=[], divergent_views=[], counts=None,
        generated_at=None,
    )  # fmt: skip
    text = markdown(running, "Pricing study")
    assert "This synthesis is running: it has no report yet." in text
    assert "## Themes" not in text and "asked for 2026-11-21 10:30:00 UTC" in text


def test_the_same_synthesis_gives_the_same_document() -> None:
    assert markdown(seeding.view(), "t") == markdown(seeding.view(), "t")
