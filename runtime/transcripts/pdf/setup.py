"""A PDF set up for the text it will hold: the fonts its characters need, and the rest marked."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.transcripts.pdf.fonts import (
    CJK,
    CJK_JAPANESE,
    CJK_KOREAN,
    CJK_SIMPLIFIED,
    CJK_TRADITIONAL,
    MAX_COLOUR_GLYPHS,
    PRIMARY,
    FontBook,
)
from runtime.transcripts.pdf.layout import TranscriptPdf, Writer

PAGE_MARGIN = 20.0  # mm


def utc(at: datetime) -> datetime:
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


@dataclass(frozen=True)
class Document:
    """A document with its first page added and a writer in the fonts its text needs."""

    pdf: TranscriptPdf
    writer: Writer
    # The characters no font draws, to the mark that stands for them (empty: all drawn).
    undrawn: Mapping[int, str]

    def drawable(self, text: str) -> str:
        """The text as the document draws it: each character no font has, marked."""
        return text.translate(self.undrawn) if self.undrawn else text


def open_document(
    title: str,
    texts: Iterable[str],
    bold: Iterable[str],
    book: FontBook,
    created: datetime,
    *,
    undrawn_note: str = UNDRAWN_NOTE,
) -> Document:
    """A document for `texts` (cleaned with layout.clean, the title among them), of which
    `bold` are drawn bold too: only the fonts they need are embedded, and `undrawn_note`
    (drawn when some character is marked) is accounted for. `created` is the file's date,
    so that the same content gives the same bytes. Thread-safe, as render_transcript."""
    codes = {ord(char) for text in texts for char in text}
    undrawn = _undrawn(codes, book)
    bold_codes = {ord(char) for text in bold for char in text}
    if undrawn:
        codes = (codes - undrawn.keys()) | {ord(UNDRAWN)} | set(map(ord, undrawn_note))
        if bold_codes & undrawn.keys():
            bold_codes = (bold_codes - undrawn.keys()) | {ord(UNDRAWN)}
    coverage, families = _coverage(codes, book)
    bold_families = {PRIMARY} | {book.families[coverage[code]] for code in bold_codes}

    pdf = TranscriptPdf()
    # fpdf2 embeds every font it has, used or not: only those the document needs.
    for key in book.keys(families, bold_families):
        face = _cjk_face(codes) if key == CJK else None
        pdf.fonts[key] = book.template(key, face).lend(pdf)
    # The primary font is a fallback too, for a paragraph set in another script's font.
    fallbacks = [family for family in book.families if family in families]
    pdf.set_fallback_fonts(fallbacks, exact_match=False)
    if any(getattr(font, "is_cid_keyed", False) for font in pdf.fonts.values()):
        pdf._set_min_pdf_version("1.6")  # CID-keyed CFF (Noto Sans CJK)
    pdf.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
    pdf.c_margin = 0  # shaped lines (cells) start where text() lines do
    pdf.set_auto_page_break(True, margin=PAGE_MARGIN)
    pdf.set_title(title)  # document metadata needs no font: unmarked
    pdf.set_creator("Rapport")
    pdf.set_creation_date(utc(created))
    pdf.add_page()
    return Document(pdf, Writer(pdf, book.families, coverage), undrawn)
