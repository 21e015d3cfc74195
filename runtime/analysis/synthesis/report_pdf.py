"""A synthesis as a PDF, drawn by the transcripts' renderer in the same fonts and fallbacks.

fpdf2, HarfBuzz and the fonts are ~30 MB: an API node should import this module on first use,
as runtime.transcripts.pdf_files does the transcripts' renderer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runtime.analysis.synthesis import report_text as phrases
from runtime.analysis.synthesis.views import Quote, Synthesis
from runtime.platform.settings import DEFAULT_FONT_DIRS
from runtime.transcripts.pdf import font_book, label_rows
from runtime.transcripts.pdf.layout import INK, MUTED, Writer, clean
from runtime.transcripts.pdf.setup import Document, open_document

_TITLE_SIZE, _TITLE_LEADING = 18.0, 8.5  # pt, mm: as a transcript's title
_SECTION_SIZE, _SECTION_LEADING = 14.0, 7.0
_ITEM_SIZE, _ITEM_LEADING = 12.0, 6.0
_BODY_SIZE, _BODY_LEADING = 10.5, 5.0
_LABEL_SIZE = 9.0
_QUOTE_INDENT = 6.0  # mm
_QUOTE_COLOUR = (27, 94, 32)  # a respondent's words, in the transcripts' respondent green
_UNDRAWN_NOTE = (
    "Some characters could not be drawn with the fonts installed on the server and are "
    "shown as \ufffd; the JSON and Markdown reports have them all."
)


_Kind = Literal[
    "title", "meta", "rule", "section", "item", "rows", "body", "stance", "quote", "reference"
]


@dataclass(frozen=True)
class _Block:
    """One paragraph of the report, cleaned, in the order it is drawn."""

    kind: _Kind
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()

    @property
    def bold(self) -> bool:
        return self.kind in ("title", "section", "item", "stance")


def pdf(
    s: Synthesis, interview_title: str, font_dirs: tuple[Path, ...] = DEFAULT_FONT_DIRS
) -> bytes:
    """The report as a PDF file in the fonts under `font_dirs`; the same synthesis gives the
    same bytes. CPU-bound (call `render` from async code); ConfigurationError if no font
    draws text."""
    blocks = _blocks(s, interview_title)
    texts = [b.text for b in blocks] + [label + value for b in blocks for label, value in b.rows]
    bold = [b.text for b in blocks if b.bold] + [label for b in blocks for label, _ in b.rows]
    title = clean(phrases.heading(interview_title))
    created = s.generated_at or s.created_at
    document = open_document(
        title, texts, bold, font_book(font_dirs), created, undrawn_note=_UNDRAWN_NOTE
    )
    for block in blocks:
        if block.kind == "rule" and document.undrawn:
            _paragraph(document.writer, _UNDRAWN_NOTE, size=_LABEL_SIZE, colour=MUTED)
        _draw(document, block)
    return bytes(document.pdf.output())


async def render(
    s: Synthesis, interview_title: str, font_dirs: tuple[Path, ...] = DEFAULT_FONT_DIRS
) -> bytes:
    """`pdf`, in a thread: the loop keeps serving while fpdf2 lays out the pages."""
    return await asyncio.to_thread(pdf, s, interview_title, font_dirs)


def _blocks(s: Synthesis, interview_title: str) -> list[_Block]:
    out = [
        _Block("title", clean(phrases.heading(interview_title))),
        _Block("meta", clean(phrases.provenance(s))),
        _Block("meta", clean(phrases.filters(s))),
        _Block("rule"),
    ]
    if s.status != "completed":
        out.append(_Block("body", clean(f"This synthesis is {s.status}: it has no report yet.")))
        if s.error:
            out.append(_Block("body", clean(f"Error: {s.error}")))
        return out
    out += [_Block("section", "Summary"), _Block("body", clean(s.summary or ""))]
    out.append(_Block("section", "Themes"))
    if not s.themes:
        out.append(_Block("body", "No themes were found."))
    titles = {t.id: t.title for t in s.themes}
    for number, t in enumerate(s.themes, 1):
        out.append(_Block("item", clean(f"{number}. {t.title}")))
        facts = tuple(
            (label, clean(value)) for label, value in phrases.theme_facts(t, s.session_count)
        )
        out += [_Block("rows", rows=facts), _Block("body", clean(t.description))]
        out += [block for q in t.quotes for block in _quote(q)]
    if s.divergent_views:
        out.append(_Block("section", "Divergent views"))
    for v in s.divergent_views:
        out += [_Block("item", clean(v.title)), _Block("body", clean(v.description))]
        if v.theme_id is not None and v.theme_id in titles:
            out.append(_Block("meta", clean(f"Divides the theme: {titles[v.theme_id]}")))
        for side in v.sides:
            stance = f"{side.stance} ({phrases.side_prevalence(side.prevalence)})"
            out.append(_Block("stance", clean(stance)))
            out += [block for q in side.quotes for block in _quote(q)]
    if s.counts is not None:
        out += [_Block("section", "Counts"), _Block("rows", rows=tuple(phrases.counts(s.counts)))]
    return out


def _quote(q: Quote) -> list[_Block]:
    return [_Block("quote", clean(q.text)), _Block("reference", clean(phrases.reference(q)))]


def _draw(document: Document, block: _Block) -> None:
    writer, pdf, text = document.writer, document.pdf, document.drawable(block.text)
    if block.kind == "title":
        _paragraph(writer, text, size=_TITLE_SIZE, leading=_TITLE_LEADING, style="B")
        pdf.ln(2)
    elif block.kind == "meta":
        _paragraph(writer, text, size=_LABEL_SIZE, colour=MUTED)
    elif block.kind == "rule":
        pdf.ln(2)
        pdf.set_draw_color(*MUTED)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
        pdf.ln(4)
    elif block.kind == "section":
        # A heading is kept with at least the first lines under it.
        writer.space_for(_SECTION_LEADING + _BODY_LEADING * 2)
        pdf.ln(3)
        _paragraph(writer, text, size=_SECTION_SIZE, leading=_SECTION_LEADING, style="B")
        pdf.ln(1)
    elif block.kind == "item":
        writer.space_for(_ITEM_LEADING + _BODY_LEADING * 2)
        pdf.ln(2)
        _paragraph(writer, text, size=_ITEM_SIZE, leading=_ITEM_LEADING, style="B")
    elif block.kind == "stance":
        # Kept with the first lines of its first quote.
        writer.space_for(_BODY_LEADING * 4)
        pdf.ln(1.5)
        _paragraph(writer, text, style="B")
    elif block.kind == "rows":
        rows = [(document.drawable(label), document.drawable(value)) for label, value in block.rows]
        label_rows(writer, rows)
        pdf.ln(1)
    elif block.kind == "quote":
        writer.space_for(_BODY_LEADING * 2)
        pdf.ln(1.5)
        _paragraph(writer, text, indent=_QUOTE_INDENT, colour=_QUOTE_COLOUR)
    elif block.kind == "reference":
        _paragraph(writer, f"— {text}", indent=_QUOTE_INDENT, size=_LABEL_SIZE, colour=MUTED)
    else:
        _paragraph(writer, text)
        pdf.ln(1)


def _paragraph(
    writer: Writer,
    text: str,
    *,
    indent: float = 0.0,
    size: float = _BODY_SIZE,
    leading: float = _BODY_LEADING,
    style: str = "",
    colour: tuple[int, int, int] = INK,
) -> None:
    if not text:
        return
    pdf = writer.pdf
    writer.paragraph(
        text, x=pdf.l_margin + indent, width=pdf.epw - indent, size=size, leading=leading,
        style=style, colour=colour,
    )  # fmt: skip
