"""Transcript PDFs: fpdf2 with Noto fonts per script; text shaping only where a script needs it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables.BitmapGlyphMetrics import BigGlyphMetrics, SmallGlyphMetrics
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.font_type_3 import Type3Font, Type3FontGlyph
from fpdf.fonts import SubsetMap, TTFFont

from runtime.errors import ConfigurationError


@dataclass(frozen=True)
class PdfMessage:
    role: str  # "interviewer" | "respondent"
    text: str
    at: datetime  # tz-aware UTC


@dataclass(frozen=True)
class PdfTranscript:
    title: str
    fields: Sequence[tuple[str, str]]  # metadata rows in order
    messages: Sequence[PdfMessage]


# --- fonts ---------------------------------------------------------------------------------

_NOTO = Path("/usr/share/fonts/truetype/noto")
_NOTO_OTF = Path("/usr/share/fonts/opentype/noto")
_SYMBOLA = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")


@dataclass(frozen=True)
class _FontFile:
    family: str
    path: Path
    package: str  # the Debian package that installs it
    style: str = ""
    face: int = 0  # index inside a font collection (.ttc)


# The primary family first, then the fallbacks in the order a character is looked up.
# Noto Sans CJK's face 2 is Simplified Chinese; every face covers Han, Kana and Hangul.
_FONT_FILES = (
    _FontFile("sans", _NOTO / "NotoSans-Regular.ttf", "fonts-noto-core"),
    _FontFile("sans", _NOTO / "NotoSans-Bold.ttf", "fonts-noto-core", style="B"),
    _FontFile("hebrew", _NOTO / "NotoSansHebrew-Regular.ttf", "fonts-noto-core"),
    _FontFile("arabic", _NOTO / "NotoSansArabic-Regular.ttf", "fonts-noto-core"),
    _FontFile("cjk", _NOTO_OTF / "NotoSansCJK-Regular.ttc", "fonts-noto-cjk", face=2),
    _FontFile("emoji", _NOTO / "NotoColorEmoji.ttf", "fonts-noto-color-emoji"),
    _FontFile("symbols2", _NOTO / "NotoSansSymbols2-Regular.ttf", "fonts-noto-core"),
    _FontFile("symbols", _NOTO / "NotoSansSymbols-Regular.ttf", "fonts-noto-core"),
    _FontFile("math", _NOTO / "NotoSansMath-Regular.ttf", "fonts-noto-core"),
    # Monochrome emoji (and much else) for what the others lack.
    _FontFile("symbola", _SYMBOLA, "fonts-symbola"),
)
_FALLBACKS = ("hebrew", "arabic", "cjk", "emoji", "symbols2", "symbols", "math", "symbola")
_COLOUR = "emoji"
# A Type 3 font holds at most 256 glyphs, two of them reserved: past this many distinct
# emoji a document draws its emoji in monochrome.
MAX_COLOUR_GLYPHS = 250


class _Widths(dict[int, float]):
    """Advance widths that answer the default for a missing character without storing it,
    so that the process-wide font objects are never written to while documents render."""

    def __init__(self, widths: dict[int, float], default: float) -> None:
        super().__init__(widths)
        self.default = default

    def __missing__(self, key: int) -> float:
        return self.default


# A colour glyph, ready to draw: its PNG and its box and advance in font units.
_ColourGlyph = tuple[bytes, int, int, int, int, int]


class _ColourGlyphs(Type3Font):
    """Draws Noto Color Emoji's bitmaps from glyphs extracted once per process. fpdf2's own
    CBDT reader decompiles the font's glyphs in place as it reads them, so a parsed font
    could neither be shared between documents nor read by two threads."""

    def __init__(self, fpdf: FPDF, base_font: TTFFont, images: dict[str, _ColourGlyph]) -> None:
        super().__init__(fpdf, base_font)
        self.images = images

    def glyph_exists(self, glyph_name: str) -> bool:
        return glyph_name in self.images

    def load_glyph_image(self, glyph: Type3FontGlyph) -> None:
        png, x_min, y_min, x_max, y_max, advance = self.images[glyph.glyph_name]
        _, _, info = self.fpdf.preload_glyph_image(glyph_image_bytes=BytesIO(png))
        index = info["i"]
        assert isinstance(index, int)
        s = self.scale
        glyph.glyph = (
            f"{round(advance * s)} 0 d0\nq\n"
            f"{(x_max - x_min) * s} 0 0 {(y_max - y_min) * s} {x_min * s} {y_min * s} cm\n"
            f"/I{index} Do\nQ"
        )
        self.images_used.add(index)
        glyph.glyph_width = advance


def _colour_glyphs(ttfont: TTFont) -> dict[str, _ColourGlyph]:
    """Every bitmap of the font's first strike, as fpdf2's CBDT reader would place it."""
    upem = ttfont["head"].unitsPerEm
    ppem = ttfont["CBLC"].strikes[0].bitmapSizeTable.ppemX
    advances = ttfont["hmtx"].metrics
    images: dict[str, _ColourGlyph] = {}
    for name, bitmap in ttfont["CBDT"].strikeData[0].items():
        png = bitmap.data[9:]
        metrics = bitmap.metrics
        if isinstance(metrics, SmallGlyphMetrics):
            bearing_x, bearing_y = metrics.BearingX, metrics.BearingY
        elif isinstance(metrics, BigGlyphMetrics):
            bearing_x, bearing_y = metrics.horiBearingX, metrics.horiBearingY
        else:
            continue
        images[name] = (
            png,
            round(bearing_x * upem / ppem),
            round((bearing_y - metrics.height) * upem / ppem),
            round(metrics.width * upem / ppem),
            round(bearing_y * upem / ppem),
            round(advances[name][0] + 0.001),
        )
    return images


@dataclass(frozen=True)
class _FontBook:
    """Every font parsed once per process; documents get cheap per-document copies."""

    templates: dict[str, TTFFont]  # fontkey ("sans", "sansB", "cjk"...) -> parsed font
    coverage: dict[int, str]  # codepoint -> family of the first font that has it
    monochrome: dict[int, str]  # the same, leaving out the colour emoji font
    colour_glyphs: dict[str, _ColourGlyph]  # the emoji font's bitmaps by glyph name
    glyph_orders: dict[str, list[str]]  # fontkey -> glyph names by glyph id


_book: _FontBook | None = None
_book_lock = threading.Lock()


def _font_book() -> _FontBook:
    global _book
    if _book is None:
        with _book_lock:
            if _book is None:
                _book = _load_fonts()
    return _book


def _load_fonts() -> _FontBook:
    missing = [f for f in _FONT_FILES if not f.path.is_file()]
    if missing:
        files = ", ".join(str(f.path) for f in missing)
        packages = " ".join(sorted({f.package for f in missing}))
        raise ConfigurationError(
            f"PDF fonts are missing: {files}. "
            f"Install the Debian packages: apt-get install {packages}"
        )
    loader = FPDF()
    colour_glyphs: dict[str, _ColourGlyph] = {}
    glyph_orders: dict[str, list[str]] = {}
    templates: dict[str, TTFFont] = {}
    for spec in _FONT_FILES:
        loader.add_font(spec.family, spec.style, str(spec.path), collection_font_number=spec.face)
        font = loader.fonts[spec.family + spec.style]
        assert isinstance(font, TTFFont)
        font.cw = _Widths(dict(font.cw), font.desc.missing_width)
        if font.color_font is not None:
            colour_glyphs = _colour_glyphs(font.ttfont)
            del font.ttfont["CBDT"]  # its bitmaps are now in colour_glyphs
        templates[spec.family + spec.style] = font
        glyph_orders[spec.family + spec.style] = font.ttfont.getGlyphOrder()
        font.ttfont["post"]
    coverage: dict[int, str] = {}
    monochrome: dict[int, str] = {}
    for family in ("sans", *_FALLBACKS):
        for codepoint in templates[family].cmap:
            coverage.setdefault(codepoint, family)
            if family != _COLOUR:
                monochrome.setdefault(codepoint, family)
    return _FontBook(templates, coverage, monochrome, colour_glyphs, glyph_orders)


# Tables fpdf2 drops when it embeds a subset anyway; dropping them before it subsets
# saves parsing them (the layout tables of Noto Sans alone take 20 ms). HarfBuzz shapes
# with the template's own copy of the file, which keeps them.
_POST_FIELDS = (
    "italicAngle", "underlinePosition", "underlineThickness", "isFixedPitch",
    "minMemType42", "maxMemType42", "minMemType1", "maxMemType1",
)  # fmt: skip
_UNEMBEDDED_TABLES = (
    "GSUB", "GPOS", "GDEF", "MATH", "hdmx", "meta", "FFTM", "kern", "morx", "sbix",
    "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR", "DSIG", "BASE", "JSTF",
    "vhea", "vmtx", "VORG",
)  # fmt: skip


def _embeddable(template: TTFFont, glyph_order: list[str]) -> TTFont:
    """A fresh, lazily read copy of the template's file, which fpdf2 subsets in place as it
    writes the document. What a PDF reader never uses is left out before anything parses
    it: the layout tables, the character map (the PDF maps codes to glyphs itself) and
    the glyph names (taken from the template, whose glyph order is the same) and OS/2."""
    ttfont = TTFont(
        template.ttffile,
        recalcTimestamp=False,
        recalcBBoxes=False,
        fontNumber=template.collection_font_number,
        lazy=True,
    )
    ttfont.setGlyphOrder(list(glyph_order))
    for tag in (*_UNEMBEDDED_TABLES, "cmap", "post", "OS/2"):
        if tag in ttfont:
            del ttfont[tag]
    post = newTable("post")
    original = template.ttfont["post"]
    for field in _POST_FIELDS:
        setattr(post, field, getattr(original, field))
    post.formatType = 3.0  # no glyph names
    ttfont["post"] = post
    # The subsetter replaces the metrics dict rather than changing it, so the template's
    # can be lent (parsing Noto Sans CJK's 65,535 metrics takes 15 ms).
    hmtx = newTable("hmtx")
    hmtx.metrics = template.ttfont["hmtx"].metrics
    ttfont["hmtx"] = hmtx
    return ttfont


def _add_fonts(pdf: FPDF, book: _FontBook, families: set[str]) -> None:
    """Registers a per-document copy of each font the document uses (fpdf2 embeds every
    font it has): the parsed tables and metrics are shared, the subset (which glyphs this
    document uses) and the tables that get written are the document's own."""
    for key, template in book.templates.items():
        if key.rstrip("BI") not in families:
            continue
        font = TTFFont.__new__(TTFFont)
        for name in TTFFont.__slots__:
            if hasattr(template, name):
                setattr(font, name, getattr(template, name))
        font.i = len(pdf.fonts) + 1
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        # fpdf2 sets the HarfBuzz font's size as it shapes: each document opens its own,
        # from the file, when it first shapes text.
        font._hbfont = None
        if template.color_font is not None:
            font.color_font = _ColourGlyphs(pdf, font, book.colour_glyphs)
        else:
            # fpdf2 subsets the font's tables in place when it writes the file.
            font.ttfont = _embeddable(template, book.glyph_orders[key])
        font.subset = SubsetMap(font)
        pdf.fonts[key] = font
        if font.is_cff and font.is_cid_keyed:
            pdf._set_min_pdf_version("1.6")


# --- text ----------------------------------------------------------------------------------

# Scripts whose letters change shape with their neighbours or run right to left: only a
# paragraph containing one of them goes through HarfBuzz (4.5x slower).
_NEEDS_SHAPING = re.compile(
    "[\u0590-\u08ff\u0900-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
    "\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff]")
_STRONG_LTR = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u3040-\u9fff]")
# Characters that are dropped: C0/C1 controls, and the emoji variation selectors that no
# font here draws (the emoji itself is still drawn).
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufe0e\ufe0f]")
# Where a line may break: after white space, and around each CJK character (which may be
# followed by closing punctuation that must not start a line).
_WIDE = "\u2e80-\u2fff\u3040-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
_CLOSING = "\u3001\u3002\u300d\u300f\u3011\u3009\u300b\uff01\uff09\uff0c\uff0e\uff1a\uff1b\uff1f"
_TOKENS = re.compile(f"[{_WIDE}][{_CLOSING}]*|[^\\s{_WIDE}]+|\\s+")


def _clean(text: str) -> str:
    return _DROPPED.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))


def _first_strong_is_rtl(text: str) -> bool:
    rtl, ltr = _RTL.search(text), _STRONG_LTR.search(text)
    return rtl is not None and (ltr is None or rtl.start() < ltr.start())


# --- layout --------------------------------------------------------------------------------

_PAGE_MARGIN = 20.0  # mm
_FOOTER_Y = -12.0  # mm from the bottom edge
_BODY_SIZE = 10.5  # pt
_BODY_LEADING = 5.0  # mm between baselines
_LABEL_SIZE = 9.0
_TITLE_SIZE = 18.0
_FIELD_LABEL_WIDTH = 42.0  # mm
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_ROLE_COLOURS = {"interviewer": (13, 71, 161), "respondent": (27, 94, 32)}
_ROLE_LABELS = {"interviewer": "Interviewer", "respondent": "Respondent"}
_PT_TO_MM = 25.4 / 72


def _break(text: str, limit: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy line breaking at the break opportunities of _TOKENS; `measure` gives a
    token's width in the unit of `limit`."""
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for token in _TOKENS.findall(text):
        w = measure(token)
        if token.isspace():
            if line:
                line.append(token)
                used += w
            continue
        if used + w > limit and line:
            while line and line[-1].isspace():
                line.pop()
            lines.append("".join(line))
            line, used = [], 0.0
        if w > limit:
            # A word wider than the line (a URL, a long number) breaks anywhere.
            for char in token:
                cw = measure(char)
                if used + cw > limit and line:
                    lines.append("".join(line))
                    line, used = [], 0.0
                line.append(char)
                used += cw
            continue
        line.append(token)
        used += w
    while line and line[-1].isspace():
        line.pop()
    lines.append("".join(line))
    return lines


class _TranscriptPdf(FPDF):
    def footer(self) -> None:
        self.set_y(_FOOTER_Y)
        self.set_font("sans", "", 8)
        self.set_text_color(*_MUTED)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


class _Writer:
    """Lays text out line by line, breaking lines itself: fpdf2's multi_cell re-measures
    (and, with shaping on, re-shapes) the whole line for every character it adds, which
    is 5x slower on plain text and 100x on shaped text. Text that needs no shaping (nearly
    all of it) is drawn with FPDF.text(), one call per run of one font; a paragraph that
    needs shaping is drawn one line per FPDF.cell(), shaped once."""

    def __init__(self, pdf: _TranscriptPdf, book: _FontBook, coverage: dict[int, str]) -> None:
        self.pdf = pdf
        self.templates = book.templates
        self.coverage = coverage
        self.widths: dict[tuple[str, str], float] = {}  # (style, token) -> width in 1/1000 em
        self.shaped_widths: dict[tuple[str, float, bool, str], float] = {}  # -> mm

    def space_for(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def paragraph(
        self,
        text: str,
        *,
        x: float,
        width: float,
        size: float,
        leading: float,
        style: str = "",
        colour: tuple[int, int, int] = _INK,
    ) -> None:
        self.pdf.set_text_color(*colour)
        for piece in text.split("\n"):
            if _NEEDS_SHAPING.search(piece):
                self._shaped(piece, x, width, size, leading, style)
                continue
            limit = width / (size * _PT_TO_MM) * 1000  # in 1/1000 em, as _width measures
            for line in _break(piece, limit, lambda token: self._width(token, style)):
                self.space_for(leading)
                baseline = self.pdf.get_y() + 0.5 * leading + 0.3 * size * _PT_TO_MM
                self._draw(line, x, baseline, size, style)
                self.pdf.set_y(self.pdf.get_y() + leading)

    def _shaped(
        self, text: str, x: float, width: float, size: float, leading: float, style: str
    ) -> None:
        pdf = self.pdf
        rtl = _first_strong_is_rtl(text)
        pdf.set_font("sans", style, size)
        # Every line of the paragraph keeps the paragraph's direction, whatever its own
        # first letter is.
        pdf.set_text_shaping(True, direction="rtl" if rtl else "ltr")

        def measure(token: str) -> float:
            key = (style, size, rtl, token)
            width = self.shaped_widths.get(key)
            if width is None:
                width = self.shaped_widths[key] = pdf.get_string_width(token)
            return width

        # Words are shaped one at a time to measure them; a line shaped whole can come out
        # a little wider (kerning across a space), hence the slack.
        for line in _break(text, width * 0.99, measure):
            self.space_for(leading)
            pdf.set_x(x)
            pdf.cell(
                width, leading, line, align="R" if rtl else "L", new_x=XPos.LEFT, new_y=YPos.NEXT
            )
        pdf.set_text_shaping(False)

    def _width(self, token: str, style: str) -> float:
        key = (style, token)
        width = self.widths.get(key)
        if width is None:
            templates, coverage = self.templates, self.coverage
            width = 0.0
            for char in token:
                code = ord(char)
                family = coverage.get(code, "sans")
                width += templates[family + style if family == "sans" else family].cw[code]
            self.widths[key] = width
        return width

    def _draw(self, line: str, x: float, baseline: float, size: float, style: str) -> None:
        coverage = self.coverage
        scale = size * _PT_TO_MM / 1000
        run: list[str] = []
        run_family = "sans"
        for char in line:
            family = coverage.get(ord(char), "sans")
            if family != run_family and run:
                x = self._run(x, baseline, "".join(run), run_family, style, size, scale)
                run = []
            run_family = family
            run.append(char)
        if run:
            self._run(x, baseline, "".join(run), run_family, style, size, scale)

    def _run(
        self,
        x: float,
        baseline: float,
        text: str,
        family: str,
        style: str,
        size: float,
        scale: float,
    ) -> float:
        pdf = self.pdf
        pdf.set_font(family, style if family == "sans" else "", size)
        pdf.text(x, baseline, text)
        return x + self._width(text, style) * scale


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _coverage(doc: PdfTranscript, book: _FontBook) -> tuple[dict[int, str], set[str]]:
    """Which font draws each character, and the families the document's characters need
    ("sans" always)."""
    chars = set(doc.title)
    for label, value in doc.fields:
        chars.update(label, value)
    for message in doc.messages:
        chars.update(message.text)
    coverage = book.coverage
    colour = sum(1 for char in chars if coverage.get(ord(char)) == _COLOUR)
    if colour > MAX_COLOUR_GLYPHS:
        coverage = book.monochrome
    return coverage, {"sans"} | {coverage.get(ord(char), "sans") for char in chars}


def render_transcript(doc: PdfTranscript) -> bytes:
    """The transcript as a PDF file. CPU-bound and thread-safe: each call builds its own
    document; the fonts are parsed once per process and only read."""
    book = _font_book()
    pdf = _TranscriptPdf(format="A4", unit="mm")
    coverage, families = _coverage(doc, book)
    _add_fonts(pdf, book, families)
    fallbacks = [family for family in _FALLBACKS if family in families]
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks, exact_match=False)
    pdf.set_margins(_PAGE_MARGIN, _PAGE_MARGIN, _PAGE_MARGIN)
    pdf.c_margin = 0  # shaped lines (cells) start where text() lines do
    pdf.set_auto_page_break(True, margin=_PAGE_MARGIN)
    pdf.set_title(doc.title)
    pdf.set_creator("Rapport")
    last = max((m.at for m in doc.messages), default=datetime(2000, 1, 1, tzinfo=UTC))
    pdf.set_creation_date(last)
    pdf.add_page()
    writer = _Writer(pdf, book, coverage)
    width = pdf.epw
    left = pdf.l_margin

    writer.paragraph(doc.title, x=left, width=width, size=_TITLE_SIZE, leading=8.5, style="B")
    pdf.ln(3)
    for label, value in doc.fields:
        top = pdf.get_y()
        writer.space_for(_BODY_LEADING)
        top = pdf.get_y()
        writer.paragraph(
            label, x=left, width=_FIELD_LABEL_WIDTH - 3, size=_LABEL_SIZE, leading=_BODY_LEADING,
            style="B", colour=_MUTED,
        )  # fmt: skip
        below_label = pdf.get_y()
        pdf.set_y(top)
        writer.paragraph(
            value, x=left + _FIELD_LABEL_WIDTH, width=width - _FIELD_LABEL_WIDTH,
            size=_BODY_SIZE - 0.5, leading=_BODY_LEADING,
        )  # fmt: skip
        pdf.set_y(max(below_label, pdf.get_y()))
    pdf.ln(2)
    pdf.set_draw_color(*_MUTED)
    pdf.set_line_width(0.2)
    pdf.line(left, pdf.get_y(), left + width, pdf.get_y())
    pdf.ln(5)

    for message in doc.messages:
        # Keep a turn's heading with at least the first line of its text.
        writer.space_for(_BODY_LEADING * 2 + 1)
        label = _ROLE_LABELS.get(message.role, message.role.capitalize())
        writer.paragraph(
            f"{label} · {_stamp(message.at)}", x=left, width=width, size=_LABEL_SIZE,
            leading=_BODY_LEADING, style="B", colour=_ROLE_COLOURS.get(message.role, _MUTED),
        )  # fmt: skip
        writer.paragraph(
            _clean(message.text), x=left, width=width, size=_BODY_SIZE, leading=_BODY_LEADING
        )
        pdf.ln(3.5)
    return bytes(pdf.output())
