"""Transcript PDFs: fpdf2 with Noto fonts per script; text shaping only where a script needs it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.platform.clock import readable
from runtime.transcripts.coverage import HEADING as COVERAGE_HEADING
from runtime.transcripts.pdf.fonts import MAX_COLOUR_GLYPHS, FontBook, font_book
from runtime.transcripts.pdf.layout import MUTED, Writer, clean
from runtime.transcripts.pdf.setup import UNDRAWN, UNDRAWN_NOTE, open_document, utc

__all__ = [
    "MAX_COLOUR_GLYPHS",
    "UNDRAWN",
    "FontBook",
    "PdfMessage",
    "PdfTranscript",
    "font_book",
    "label_rows",
    "render_transcript",
]


@dataclass(frozen=True)
class PdfMessage:
    role: str  # "interviewer" | "respondent"
    text: str
    at: datetime  # tz-aware UTC
    note: str = ""  # drawn under the text: what was recorded from an answer
    label: str = ""  # beside the role: how it was said ("voice", "voice, interrupted")


@dataclass(frozen=True)
class PdfTranscript:
    title: str
    fields: Sequence[tuple[str, str]]  # metadata rows in order
    messages: Sequence[PdfMessage]
    # After the messages: per guide item, its id and "status · value" (transcripts.coverage).
    coverage: Sequence[tuple[str, str]] = ()


_BODY_SIZE = 10.5  # pt
_BODY_LEADING = 5.0  # mm between baselines
_LABEL_SIZE = 9.0
_TITLE_SIZE = 18.0
_TITLE_LEADING = 8.5
_FIELD_LABEL_WIDTH = 42.0  # mm
_ROLE_COLOURS = {"interviewer": (13, 71, 161), "respondent": (27, 94, 32)}
_ROLE_LABELS = {"interviewer": "Interviewer", "respondent": "Respondent"}


def render_transcript(doc: PdfTranscript, book: FontBook | None = None) -> bytes:
    """The transcript as a PDF file, in the fonts of `book` (those of the default font
    directories if None): a character none of them draws is marked, and a note says so.
    CPU-bound and thread-safe: each call builds its own document; the fonts are parsed
    once per process and only read. ConfigurationError if there is no font at all."""
    book = book or font_book()
    title = clean(doc.title)
    fields = [(clean(label), clean(value)) for label, value in doc.fields]
    messages = [(m, clean(m.text), clean(m.note)) for m in doc.messages]
    items = [(clean(label), clean(value)) for label, value in doc.coverage]
    heading = COVERAGE_HEADING if items else ""
    texts = [title, heading, *(label + value for label, value in [*fields, *items])]
    texts += [m.role + m.label + text + note for m, text, note in messages]
    # Bold: the title, the field and item labels, the turn and coverage headings.
    bold = [title, heading, *(label for label, _ in [*fields, *items])]
    # The file's date is the transcript's, so that the same transcript gives the same bytes.
    last = max((utc(m.at) for m in doc.messages), default=datetime(2000, 1, 1, tzinfo=UTC))
    document = open_document(title, texts, bold, book, last)
    pdf, writer, undrawn = document.pdf, document.writer, document.undrawn
    if undrawn:
        title = document.drawable(title)
        fields = [(document.drawable(label), document.drawable(value)) for label, value in fields]
        messages = [
            (m, document.drawable(text), document.drawable(note)) for m, text, note in messages
        ]
        items = [(document.drawable(label), document.drawable(value)) for label, value in items]
    width, left = pdf.epw, pdf.l_margin

    writer.paragraph(
        title, x=left, width=width, size=_TITLE_SIZE, leading=_TITLE_LEADING, style="B"
    )
    pdf.ln(3)
    label_rows(writer, fields)
    if undrawn:
        pdf.ln(1)
        writer.paragraph(
            UNDRAWN_NOTE, x=left, width=width, size=_LABEL_SIZE, leading=_BODY_LEADING,
            colour=MUTED,
        )  # fmt: skip
    pdf.ln(2)
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.2)
    pdf.line(left, pdf.get_y(), left + width, pdf.get_y())
    pdf.ln(5)

    for message, text, note in messages:
        # Keep a turn's heading with at least the first line of its text.
        writer.space_for(_BODY_LEADING * 2 + 1)
        role = _ROLE_LABELS.get(message.role, clean(message.role).capitalize())
        if message.label:
            role = f"{role} · {clean(message.label)}"
        writer.paragraph(
            f"{role} · {readable(message.at)}", x=left, width=width, size=_LABEL_SIZE,
            leading=_BODY_LEADING, style="B", colour=_ROLE_COLOURS.get(message.role, MUTED),
        )  # fmt: skip
        writer.paragraph(text, x=left, width=width, size=_BODY_SIZE, leading=_BODY_LEADING)
        if note:
            pdf.ln(1)
            writer.paragraph(
                note, x=left, width=width, size=_LABEL_SIZE, leading=_BODY_LEADING, colour=MUTED
            )
        pdf.ln(3.5)
    if items:
        writer.space_for(_BODY_LEADING * 3)
        pdf.line(left, pdf.get_y(), left + width, pdf.get_y())
        pdf.ln(4)
        writer.paragraph(
            heading, x=left, width=width, size=_BODY_SIZE, leading=_BODY_LEADING, style="B"
        )
        pdf.ln(1)
        label_rows(writer, items)
    return bytes(pdf.output())


def label_rows(writer: Writer, rows: Sequence[tuple[str, str]]) -> None:
    """Label and value rows: the metadata, the coverage."""
    pdf = writer.pdf
    width, left = pdf.epw, pdf.l_margin
    for label, value in rows:
        writer.space_for(_BODY_LEADING)
        top = pdf.get_y()
        writer.paragraph(
            label, x=left, width=_FIELD_LABEL_WIDTH - 3, size=_LABEL_SIZE, leading=_BODY_LEADING,
            style="B", colour=MUTED,
        )  # fmt: skip
        below_label = pdf.get_y()
        pdf.set_y(top)
        writer.paragraph(
            value, x=left + _FIELD_LABEL_WIDTH, width=width - _FIELD_LABEL_WIDTH,
            size=_BODY_SIZE - 0.5, leading=_BODY_LEADING,
        )  # fmt: skip
        pdf.set_y(max(below_label, pdf.get_y()))
