"""A synthesis as a Markdown document, in which nothing a respondent (or a model) wrote acts."""

from __future__ import annotations

from runtime.analysis.synthesis import report_text as phrases
from runtime.analysis.synthesis.views import DivergentView, Quote, Synthesis, Theme
from runtime.transcripts import neutralize


def markdown(s: Synthesis, interview_title: str) -> str:
    """Title, provenance, summary, themes with their quotes, divergent views, counts. Every
    text not of our making (titles, summaries, quotes, names) is escaped as transcripts are:
    it shows as typed and never becomes a heading, link, image, list or HTML."""
    lines = [f"# {_inline(phrases.heading(interview_title))}", ""]
    lines += [_inline(phrases.provenance(s)), "", _inline(phrases.filters(s))]
    if s.status != "completed":
        lines += ["", _inline(f"This synthesis is {s.status}: it has no report yet.")]
        if s.error:
            lines += ["", f"Error: {_inline(s.error)}"]
        return "\n".join(lines) + "\n"
    lines += ["", "## Summary", ""]
    lines += _paragraphs(s.summary or "")
    lines += ["", "## Themes"]
    if not s.themes:
        lines += ["", "No themes were found."]
    titles = {t.id: t.title for t in s.themes}
    for number, theme in enumerate(s.themes, 1):
        lines += _theme(number, theme, s.session_count)
    if s.divergent_views:
        lines += ["", "## Divergent views"]
        for view in s.divergent_views:
            lines += _divergent(view, titles)
    if s.counts is not None:
        lines += ["", "## Counts", ""]
        lines += [f"- **{label}:** {value}" for label, value in phrases.counts(s.counts)]
    return "\n".join(lines) + "\n"


def _inline(value: str) -> str:
    return neutralize.md_inline(value)


def _lines(value: str) -> list[str]:
    # Leading white space dropped: four spaces after a blank line would start a code block.
    return [line.lstrip() for line in neutralize.plain(value).split("\n")]


def _paragraphs(value: str) -> list[str]:
    # Line by line, so that a line of it can start no block of its own.
    return [neutralize.md_line(line) for line in _lines(value)]


def _theme(number: int, t: Theme, session_count: int | None) -> list[str]:
    lines = ["", f"### {number}. {_inline(t.title)}", ""]
    lines += [
        f"- **{label}:** {_inline(value)}" for label, value in phrases.theme_facts(t, session_count)
    ]
    lines += ["", *_paragraphs(t.description)]
    for quote in t.quotes:
        lines += _quote(quote)
    return lines


def _quote(q: Quote) -> list[str]:
    # Inside the quote, which nothing typed can end; the attribution is the quote's last
    # paragraph, set apart by an empty quoted line.
    said = neutralize.md_quote("\n".join(_lines(q.text)))
    return ["", *said, ">", f"> — {_inline(phrases.reference(q))}"]


def _divergent(v: DivergentView, titles: dict[str, str]) -> list[str]:
    lines = ["", f"### {_inline(v.title)}", "", *_paragraphs(v.description)]
    if v.theme_id is not None and v.theme_id in titles:
        lines += ["", f"Divides the theme: {_inline(titles[v.theme_id])}"]
    for side in v.sides:
        lines += ["", f"#### {_inline(side.stance)} ({phrases.side_prevalence(side.prevalence)})"]
        for quote in side.quotes:
            lines += _quote(quote)
    return lines
