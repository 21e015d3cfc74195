"""Line breaking and drawing: plain text run by run, shaped text only where a script needs it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from runtime.transcripts.pdf.fonts import PRIMARY

# Scripts whose letters change shape with their neighbours or run right to left: only a
# paragraph containing one of them goes through HarfBuzz.
_NEEDS_SHAPING = re.compile(
    "[\u0590-\u08ff\u0900-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
    "\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff]")
_STRONG_LTR = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u3040-\u9fff]")
# Dropped: C0/C1 controls, soft hyphens (no word is hyphenated, and fpdf2 would draw
# them), and the emoji variation selectors that no font here draws (the emoji itself is
# still drawn).
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\ufe0e\ufe0f]")
# Where a line may break: after white space, and around each Chinese or Japanese
# character (which takes any closing punctuation after it along, so that none starts a
# line). Korean breaks between words, at spaces, like Latin.
_WIDE = "\u2e80-\u2fff\u3040-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_CLOSING = "\u3001\u3002\u300d\u300f\u3011\u3009\u300b\uff01\uff09\uff0c\uff0e\uff1a\uff1b\uff1f"
_TOKENS = re.compile(f"[{_WIDE}][{_CLOSING}]*|[^\\s{_WIDE}]+|\\s+")
PT_TO_MM = 25.4 / 72
INK = (33, 37, 41)
MUTED = (108, 117, 125)


def clean(text: str) -> str:
    return _DROPPED.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))


def _first_strong_is_rtl(text: str) -> bool:
    rtl, ltr = _RTL.search(text), _STRONG_LTR.search(text)
    return rtl is not None and (ltr is None or rtl.start() < ltr.start())


def break_lines(text: str, limit: float, measure: Callable[[str], float]) -> list[str]:
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


# What fpdf2 replaces with the page count: a control character, which clean() drops, so
# that no transcript's text can contain it; one character, as fpdf2 centres the footer on
# a placeholder "0" as long as the alias.
_PAGE_COUNT = "\x00"


class TranscriptPdf(FPDF):
    footer_y = -12.0  # mm from the bottom edge

    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        self.alias_nb_pages(_PAGE_COUNT)

    def footer(self) -> None:
        self.set_y(self.footer_y)
        self.set_font(PRIMARY, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"Page {self.page_no()} of {_PAGE_COUNT}", align="C")


class Writer:
    """Lays text out line by line, breaking lines itself: fpdf2's multi_cell re-measures
    (and, with shaping on, re-shapes) the whole line for every character it adds, which
    is 5x slower on plain text and 100x on shaped text. Text that needs no shaping (nearly
    all of it) is drawn with FPDF.text(), one call per run of one font; a paragraph that
    needs shaping is drawn one line per FPDF.cell(), shaped once."""

    def __init__(self, pdf: TranscriptPdf, families: tuple[str, ...], coverage: bytes) -> None:
        self.pdf = pdf
        self.families = families
        self.coverage = coverage  # family index by codepoint
        # Advance widths (1/1000 em) by style, then by family index: the document's fonts.
        self.advances = {style: [self._advances(f, style) for f in families] for style in ("", "B")}
        self.widths: dict[tuple[str, str], float] = {}  # (style, token) -> width in 1/1000 em
        self.shaped_widths: dict[tuple[str, float, bool, str], float] = {}  # -> mm

    def _key(self, family: str, style: str) -> str:
        """The document's font of that family and style, else of that family."""
        return family + style if family + style in self.pdf.fonts else family

    def _advances(self, family: str, style: str) -> dict[int, float]:
        font = self.pdf.fonts.get(self._key(family, style))
        return font.cw if isinstance(font, TTFFont) else {}

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
        colour: tuple[int, int, int] = INK,
    ) -> None:
        self.pdf.set_text_color(*colour)
        for piece in text.split("\n"):
            if _NEEDS_SHAPING.search(piece):
                self._shaped(piece, x, width, size, leading, style)
                continue
            limit = width / (size * PT_TO_MM) * 1000  # in 1/1000 em, as _width measures
            for line in break_lines(piece, limit, lambda token: self._width(token, style)):
                self.space_for(leading)
                baseline = self.pdf.get_y() + 0.5 * leading + 0.3 * size * PT_TO_MM
                self._draw(line, x, baseline, size, style)
                self.pdf.set_y(self.pdf.get_y() + leading)

    def _shaped(
        self, text: str, x: float, width: float, size: float, leading: float, style: str
    ) -> None:
        pdf = self.pdf
        rtl = _first_strong_is_rtl(text)
        # A right-to-left paragraph is set in its script's font, so that its spaces and
        # punctuation are too: fpdf2 makes a fragment (and a shaping call) of every change
        # of font, which would otherwise be twice a word.
        family = PRIMARY
        if rtl and (letter := _RTL.search(text)):
            family = self.families[self.coverage[ord(letter.group())]]
        key = self._key(family, style)
        pdf.set_font(family, key[len(family) :], size)
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
        align = "R" if rtl else "L"
        for line in break_lines(text, width * 0.99, measure):
            self.space_for(leading)
            pdf.set_x(x)
            # fpdf2 (2.8.9) switches fonts between the fragments of a line inside the text
            # object and forgets it did: the page keeps the last fragment's font while fpdf2
            # believes it has the one set before. Marking the font as not yet set makes the
            # next cell, and the next text(), set theirs.
            pdf.current_font_is_set_on_page = False
            pdf.cell(width, leading, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
            pdf.current_font_is_set_on_page = False
        pdf.set_text_shaping(False)

    def _width(self, token: str, style: str) -> float:
        key = (style, token)
        width = self.widths.get(key)
        if width is None:
            advances, coverage = self.advances[style], self.coverage
            width = self.widths[key] = sum(advances[coverage[c]][c] for c in map(ord, token))
        return width

    def _draw(self, line: str, x: float, baseline: float, size: float, style: str) -> None:
        families, coverage = self.families, self.coverage
        scale = size * PT_TO_MM / 1000
        if not any(coverage[c] for c in map(ord, line)):  # all in the primary font
            self._run(x, baseline, line, PRIMARY, style, size, scale)
            return
        run: list[str] = []
        run_family = PRIMARY
        for char in line:
            family = families[coverage[ord(char)]]
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
        key = self._key(family, style)
        pdf.set_font(family, key[len(family) :], size)
        pdf.text(x, baseline, text)
        return x + self._width(text, style) * scale
