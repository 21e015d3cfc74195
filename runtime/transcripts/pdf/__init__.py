"""Transcript PDFs: fpdf2 with Noto fonts per script; text shaping only where a script needs it."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.platform.clock import readable
from runtime.transcripts.coverage import HEADING as COVERAGE_HEADING
from runtime.transcripts.pdf.fonts import (
    CJK,
    CJK_JAPANESE,
    CJK_KOREAN,
    CJK_SIMPLIFIED,
    CJK_TRADITIONAL,
    MAX_COLOUR_GLYPHS,
    PRIMARY,
    FontBook,
    font_book,
)
from runtime.transcripts.pdf.layout import MUTED, TranscriptPdf, Writer, clean

__all__ = [
    "MAX_COLOUR_GLYPHS",
    "UNDRAWN",
    "FontBook",
    "PdfMessage",
    "PdfTranscript",
    "font_book",
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


_PAGE_MARGIN = 20.0  # mm
_BODY_SIZE = 10.5  # pt
_BODY_LEADING = 5.0  # mm between baselines
_LABEL_SIZE = 9.0
_TITLE_SIZE = 18.0
_TITLE_LEADING = 8.5
_FIELD_LABEL_WIDTH = 42.0  # mm
_ROLE_COLOURS = {"interviewer": (13, 71, 161), "respondent": (27, 94, 32)}
_ROLE_LABELS = {"interviewer": "Interviewer", "respondent": "Respondent"}


def _utc(at: datetime) -> datetime:
    """A naive time is taken to be UTC already, as runtime.platform.clock stores them."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _kana(code: int) -> bool:
    return 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F


def _hangul(code: int) -> bool:
    return 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


# Common characters written differently in Traditional and in Simplified Chinese (the
# same words, in the same order), to tell the two apart.
_TRADITIONAL = set(map(ord, "們這個來為說時會對國學與後開關還點發經過門問題現實體見覺讓"))
_SIMPLIFIED = set(map(ord, "们这个来为说时会对国学与后开关还点发经过门问题现实体见觉让"))


def _cjk_face(codes: set[int]) -> int:
    """Japanese if the text has kana, Korean if it has more Hangul than kana, else
    Chinese, Traditional if it has more of its own common characters than Simplified
    has: Han characters are drawn in that locale's forms."""
    kana = sum(1 for code in codes if _kana(code))
    hangul = sum(1 for code in codes if _hangul(code))
    if hangul > kana:
        return CJK_KOREAN
    if kana:
        return CJK_JAPANESE
    if len(codes & _TRADITIONAL) > len(codes & _SIMPLIFIED):
        return CJK_TRADITIONAL
    return CJK_SIMPLIFIED


_PRIMARY_ONLY = bytes(0x110000)  # family index 0 for every codepoint


def _coverage(codes: set[int], book: FontBook) -> tuple[bytes, set[str]]:
    """Which font draws each character (the family index by codepoint), and the families
    the document's characters need, the primary always."""
    if codes <= book.primary:
        return _PRIMARY_ONLY, {PRIMARY}
    coverage, monochrome, _ = book.coverage()
    colour = book.colour
    if colour is not None and sum(1 for c in codes if coverage[c] == colour) > MAX_COLOUR_GLYPHS:
        coverage = monochrome
    families = {PRIMARY} | {book.families[coverage[code]] for code in codes}
    return coverage, families


# What stands for a character no font here draws: the Unicode replacement character, which
# Noto Sans and DejaVu Sans both have (and text extraction gives back).
UNDRAWN = "\ufffd"
UNDRAWN_NOTE = (
    "Some characters could not be drawn with the fonts installed on the server and are "
    f"shown as {UNDRAWN}; the text transcript has them all."
)
# Invisible anyway: left as they are, never marked.
_INVISIBLE = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp"))


def _undrawn(codes: set[int], book: FontBook) -> dict[int, str]:
    """The document's characters that no font draws (a translate() table to the mark)."""
    if codes <= book.primary:
        return {}
    drawn = book.coverage()[2]
    return {
        code: UNDRAWN
        for code in codes
        if not drawn[code] and unicodedata.category(chr(code)) not in _INVISIBLE
    }


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
    codes = {ord(char) for text in texts for char in text}
    undrawn = _undrawn(codes, book)
    metadata_title = title  # document metadata needs no font
    if undrawn:
        title = title.translate(undrawn)
        fields = [(label.translate(undrawn), value.translate(undrawn)) for label, value in fields]
        messages = [
            (m, text.translate(undrawn), note.translate(undrawn)) for m, text, note in messages
        ]
        items = [(label.translate(undrawn), value.translate(undrawn)) for label, value in items]
        codes = (codes - undrawn.keys()) | {ord(UNDRAWN)} | set(map(ord, UNDRAWN_NOTE))
    coverage, families = _coverage(codes, book)
    # Bold: the title, the field and item labels, the turn and coverage headings.
    labels = (label for label, _ in [*fields, *items])
    bold_codes = {ord(char) for text in (title, heading, *labels) for char in text}
    bold = {PRIMARY} | {book.families[coverage[code]] for code in bold_codes}

    pdf = TranscriptPdf()
    # fpdf2 embeds every font it has, used or not: only those the document needs.
    for key in book.keys(families, bold):
        face = _cjk_face(codes) if key == CJK else None
        pdf.fonts[key] = book.template(key, face).lend(pdf)
    # The primary font is a fallback too, for a paragraph set in another script's font.
    fallbacks = [family for family in book.families if family in families]
    pdf.set_fallback_fonts(fallbacks, exact_match=False)
    if any(getattr(font, "is_cid_keyed", False) for font in pdf.fonts.values()):
        pdf._set_min_pdf_version("1.6")  # CID-keyed CFF (Noto Sans CJK)
    pdf.set_margins(_PAGE_MARGIN, _PAGE_MARGIN, _PAGE_MARGIN)
    pdf.c_margin = 0  # shaped lines (cells) start where text() lines do
    pdf.set_auto_page_break(True, margin=_PAGE_MARGIN)
    pdf.set_title(metadata_title)
    pdf.set_creator("Rapport")
    # The file's date is the transcript's, so that the same transcript gives the same bytes.
    last = max((_utc(m.at) for m in doc.messages), default=datetime(2000, 1, 1, tzinfo=UTC))
    pdf.set_creation_date(last)
    pdf.add_page()
    writer = Writer(pdf, book.families, coverage)
    width, left = pdf.epw, pdf.l_margin

    writer.paragraph(
        title, x=left, width=width, size=_TITLE_SIZE, leading=_TITLE_LEADING, style="B"
    )
    pdf.ln(3)
    _rows(writer, fields)
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
        _rows(writer, items)
    return bytes(pdf.output())


def _rows(writer: Writer, rows: Sequence[tuple[str, str]]) -> None:
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
