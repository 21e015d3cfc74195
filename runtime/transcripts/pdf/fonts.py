"""The PDF fonts: found by file name in the font directories, parsed once, lent to each document."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fontTools.ttLib.tables.BitmapGlyphMetrics import BigGlyphMetrics, SmallGlyphMetrics
from fpdf import FPDF
from fpdf.font_type_3 import Type3Font, Type3FontGlyph
from fpdf.fonts import SubsetMap, TTFFont

from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import DEFAULT_FONT_DIRS


@dataclass(frozen=True)
class FontFile:
    family: str
    path: Path
    package: str  # the Debian package that installs it
    style: str = ""
    face: int = 0  # index inside a font collection (.ttc)

    @property
    def key(self) -> str:
        return self.family + self.style


@dataclass(frozen=True)
class Wanted:
    """A font looked for by file name under the font directories: the first name found
    serves (the preferred one first); `package` is the Debian package of the preferred."""

    family: str
    names: tuple[str, ...]
    package: str
    style: str = ""
    face: int = 0


# The primary family first, then the fallbacks in the order a character is looked up.
# Noto Sans CJK's face 2 is Simplified Chinese; every face covers Han, Kana and Hangul.
# DejaVu Sans (fonts-dejavu-core, on every Debian system) stands in for Noto Sans when it
# is missing, and draws last what none of the others has (Georgian, Armenian, …).
WANTED = (
    Wanted("sans", ("NotoSans-Regular.ttf", "DejaVuSans.ttf"), "fonts-noto-core"),
    Wanted("sans", ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"), "fonts-noto-core", style="B"),
    Wanted("hebrew", ("NotoSansHebrew-Regular.ttf",), "fonts-noto-core"),
    Wanted("hebrew", ("NotoSansHebrew-Bold.ttf",), "fonts-noto-core", style="B"),
    Wanted("arabic", ("NotoSansArabic-Regular.ttf",), "fonts-noto-core"),
    Wanted("arabic", ("NotoSansArabic-Bold.ttf",), "fonts-noto-core", style="B"),
    Wanted("cjk", ("NotoSansCJK-Regular.ttc",), "fonts-noto-cjk", face=2),
    Wanted("emoji", ("NotoColorEmoji.ttf",), "fonts-noto-color-emoji"),
    Wanted("symbols2", ("NotoSansSymbols2-Regular.ttf",), "fonts-noto-core"),
    Wanted("symbols", ("NotoSansSymbols-Regular.ttf",), "fonts-noto-core"),
    Wanted("math", ("NotoSansMath-Regular.ttf",), "fonts-noto-core"),
    # Monochrome emoji (and much else) for what the others lack.
    Wanted("symbola", ("Symbola_hint.ttf", "Symbola.ttf"), "fonts-symbola"),
    Wanted("dejavu", ("DejaVuSans.ttf",), "fonts-dejavu-core"),
    Wanted("dejavu", ("DejaVuSans-Bold.ttf",), "fonts-dejavu-core", style="B"),
)
PRIMARY = "sans"
COLOUR = "emoji"
CJK = "cjk"
# The faces of the Noto Sans CJK collection: each draws every Han, Kana and Hangul
# character, in its own locale's glyph forms.
CJK_JAPANESE, CJK_KOREAN, CJK_SIMPLIFIED, CJK_TRADITIONAL = 0, 1, 2, 3


@dataclass(frozen=True)
class Script:
    """A writing system as the start-up check reports it: drawn if every sample is."""

    name: str
    samples: str
    package: str  # the Debian package whose font draws it


SCRIPTS = (
    Script("Latin", "Aaéß", "fonts-noto-core"),
    Script("Greek", "Ωλ", "fonts-noto-core"),
    Script("Cyrillic", "Жы", "fonts-noto-core"),
    Script("Hebrew", "אש", "fonts-noto-core"),
    Script("Arabic", "عبپ", "fonts-noto-core"),
    Script("Chinese", "中们們", "fonts-noto-cjk"),
    Script("Japanese", "あア", "fonts-noto-cjk"),
    Script("Korean", "한글", "fonts-noto-cjk"),
    Script("emoji", "😀👍🎉", "fonts-noto-color-emoji"),
    Script("symbols", "→✓∑★", "fonts-noto-core"),
)


def _index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """Every font file under the directories by file name; an earlier directory wins."""
    found: dict[str, Path] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for folder, _, names in sorted(os.walk(root, followlinks=True)):
            for name in sorted(names):
                if name.lower().endswith((".ttf", ".ttc", ".otf")):
                    found.setdefault(name, Path(folder) / name)
    return found


def find_fonts(dirs: tuple[Path, ...]) -> tuple[tuple[FontFile, ...], tuple[Wanted, ...]]:
    """The fonts found under `dirs`, in lookup order, and the wanted ones that are missing.
    A file already serving one family is not taken again by another (DejaVu Sans standing
    in for Noto Sans is not also the last fallback)."""
    index = _index(dirs)
    files: list[FontFile] = []
    missing: list[Wanted] = []
    used: set[Path] = set()
    for wanted in WANTED:
        path = next((index[n] for n in wanted.names if n in index), None)
        if path is None:
            missing.append(wanted)
        elif path not in used:
            used.add(path)
            files.append(FontFile(wanted.family, path, wanted.package, wanted.style, wanted.face))
    return tuple(files), tuple(missing)


# A Type 3 font holds at most 256 glyphs, two of them reserved: past this many distinct
# emoji a document draws its emoji in monochrome.
MAX_COLOUR_GLYPHS = 250

# A colour glyph, ready to draw: its PNG and its box and advance in font units.
_ColourGlyph = tuple[bytes, int, int, int, int, int]

_POST_FIELDS = (
    "italicAngle", "underlinePosition", "underlineThickness", "isFixedPitch",
    "minMemType42", "maxMemType42", "minMemType1", "maxMemType1",
)  # fmt: skip
# Tables a PDF reader never uses, which fpdf2 drops from the subset it embeds anyway;
# dropping them before it subsets saves parsing them (Noto Sans's layout tables alone
# take 20 ms). HarfBuzz shapes from the file itself, which keeps them.
_UNEMBEDDED_TABLES = (
    "GSUB", "GPOS", "GDEF", "MATH", "hdmx", "meta", "FFTM", "kern", "morx", "sbix",
    "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR", "DSIG", "BASE", "JSTF",
    "vhea", "vmtx", "VORG",
    # The PDF maps codes to glyphs itself, and gets glyph names from the template.
    "cmap", "post", "OS/2",
)  # fmt: skip


class _Widths(dict[int, float]):
    """Advance widths that answer the default for a missing character without storing it
    (fpdf2's are a defaultdict), so that a shared template is never written to."""

    def __init__(self, widths: dict[int, float], default: float) -> None:
        super().__init__(widths)
        self.default = default

    def __missing__(self, key: int) -> float:
        return self.default


class _Outlines(dict[str, Glyph]):
    """A glyf table's glyphs, each made from its bytes when first asked for. The subsetter
    asks only for the glyphs it keeps, then replaces the mapping with a plain dict."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__()
        self.data = data

    def __missing__(self, name: str) -> Glyph:
        glyph = self[name] = Glyph(self.data[name])
        return glyph

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def __len__(self) -> int:
        return len(self.data)


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
    """Every bitmap of the font's first strike, placed as fpdf2's CBDT reader places it."""
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
class Template:
    """One font as fpdf2 parsed it, with what each document's copy needs from the file;
    only ever read once built."""

    file: FontFile
    font: TTFFont  # its `ttfont` is dropped, except the colour font's (head and hmtx)
    glyph_order: list[str]
    metrics: dict[str, tuple[int, int]]
    post: dict[str, Any]
    colour_glyphs: dict[str, _ColourGlyph] | None
    outlines: dict[str, bytes] | None  # a TrueType font's glyphs, as stored in its file

    @classmethod
    def load(cls, spec: FontFile) -> Template:
        loader = FPDF()
        loader.add_font(spec.family, spec.style, str(spec.path), collection_font_number=spec.face)
        font = loader.fonts[spec.key]
        assert isinstance(font, TTFFont)
        font.cw = _Widths(dict(font.cw), font.desc.missing_width)
        ttfont = font.ttfont
        glyph_order = ttfont.getGlyphOrder()
        outlines = None
        if "glyf" in ttfont and font.color_font is None:
            glyphs = ttfont["glyf"].glyphs
            outlines = {name: getattr(glyphs[name], "data", b"") for name in glyph_order}
        metrics = ttfont["hmtx"].metrics
        post = {name: getattr(ttfont["post"], name) for name in _POST_FIELDS}
        colour_glyphs = None
        if font.color_font is not None:
            colour_glyphs = _colour_glyphs(ttfont)
            del ttfont["CBDT"]  # its bitmaps are in colour_glyphs now
            # Documents read this font's head (and hmtx, parsed above): parse it now, so
            # that they only ever read it.
            ttfont["head"]
        else:
            ttfont.close()
            font.ttfont = None  # every document opens its own
        # Drop the references to the loader document.
        font.color_font = None
        font.subset = None  # type: ignore[assignment]
        font._hbfont = None
        return cls(spec, font, glyph_order, metrics, post, colour_glyphs, outlines)

    def lend(self, pdf: FPDF) -> TTFFont:
        """A copy for one document: the parsed metrics are shared, the subset (which glyphs
        the document uses) and the tables that get written are the document's own."""
        font = TTFFont.__new__(TTFFont)
        for name in TTFFont.__slots__:
            if hasattr(self.font, name):
                setattr(font, name, getattr(self.font, name))
        font.i = len(pdf.fonts) + 1
        # fpdf2 names and numbers the font descriptor as it writes the document.
        font.desc = copy.copy(self.font.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        # fpdf2 sets the HarfBuzz font's size as it shapes: each document opens its own,
        # from the file, when it first shapes text.
        font._hbfont = None
        if self.colour_glyphs is not None:
            font.color_font = _ColourGlyphs(pdf, font, self.colour_glyphs)
        else:
            font.ttfont = self._embeddable()
        font.subset = SubsetMap(font)
        return font

    def _embeddable(self) -> TTFont:
        """A fresh, lazily read copy of the file, which fpdf2 subsets in place as it writes
        the document, without the tables it would drop."""
        ttfont = TTFont(
            self.file.path,
            recalcTimestamp=False,
            recalcBBoxes=False,
            fontNumber=self.file.face,
            lazy=True,
        )
        ttfont.setGlyphOrder(list(self.glyph_order))
        for tag in _UNEMBEDDED_TABLES:
            if tag in ttfont:
                del ttfont[tag]
        post = newTable("post")
        for name, value in self.post.items():
            setattr(post, name, value)
        post.formatType = 3.0  # no glyph names
        ttfont["post"] = post
        # The subsetter replaces the metrics dict rather than changing it, so the
        # template's can be lent (parsing Noto Sans CJK's 65,535 metrics takes 15 ms).
        hmtx = newTable("hmtx")
        hmtx.metrics = self.metrics
        ttfont["hmtx"] = hmtx
        if self.outlines is not None:
            # Only the glyphs the document uses are made into objects (fontTools would
            # split all 3,300 of Noto Sans's: 8 ms); loca is rebuilt when glyf is written.
            glyf = newTable("glyf")
            glyf.glyphOrder = list(self.glyph_order)
            glyf.glyphs = _Outlines(self.outlines)
            ttfont["glyf"] = glyf
            ttfont["loca"] = newTable("loca")
        return ttfont


@dataclass
class FontBook:
    """Which font draws each character, and the fonts themselves, each parsed on the first
    document that needs it (Noto Sans CJK alone holds 40 MB once parsed)."""

    files: tuple[FontFile, ...]
    missing: tuple[Wanted, ...] = ()  # what was looked for and not found
    families: tuple[str, ...] = ()  # the primary family, then the fallbacks
    primary: frozenset[int] = frozenset()  # the codepoints the primary font draws
    colour: int | None = None  # the colour font's family index, if it is there
    _tables: tuple[bytes, bytes, bytes] | None = None
    _templates: dict[tuple[str, int | None], Template] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not any(f.family == PRIMARY and not f.style for f in self.files):
            raise ConfigurationError(
                "no font to draw PDFs with: none of "
                + ", ".join(WANTED[0].names)
                + " is in the font directories (RAPPORT_PDF_FONT_DIRS); "
                "apt-get install fonts-noto-core (or at least fonts-dejavu-core)"
            )
        self.families = tuple(dict.fromkeys(f.family for f in self.files))
        self.primary = frozenset(self._codepoints(self.families[0]))
        self.colour = self.families.index(COLOUR) if COLOUR in self.families else None

    def _codepoints(self, family: str) -> set[int]:
        spec = next(f for f in self.files if f.family == family)
        with TTFont(spec.path, fontNumber=spec.face, lazy=True) as ttfont:
            return set(ttfont.getBestCmap())

    def coverage(self) -> tuple[bytes, bytes, bytes]:
        """The family index (into `families`) of the first font that draws each codepoint,
        0 (the primary) where none does; then the same without the colour font; then 1
        for each codepoint some font draws. Read from the fonts on the first document with
        a character the primary font lacks."""
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    self._tables = self._read_coverage()
        return self._tables

    def _read_coverage(self) -> tuple[bytes, bytes, bytes]:
        coverage = bytearray(0x110000)
        monochrome = bytearray(0x110000)
        drawn = bytearray(0x110000)
        covered: set[int] = set()
        covered_monochrome: set[int] = set()
        for index, family in enumerate(self.families):
            codepoints = self._codepoints(family)
            for codepoint in codepoints - covered:
                coverage[codepoint] = index
                drawn[codepoint] = 1
            covered |= codepoints
            if family != COLOUR:
                for codepoint in codepoints - covered_monochrome:
                    monochrome[codepoint] = index
                covered_monochrome |= codepoints
        return bytes(coverage), bytes(monochrome), bytes(drawn)

    def scripts(self) -> tuple[list[Script], list[Script]]:
        """The scripts of SCRIPTS that PDFs draw here, and those they cannot."""
        drawn = self.coverage()[2]
        can = [s for s in SCRIPTS if all(drawn[ord(c)] for c in s.samples)]
        return can, [s for s in SCRIPTS if s not in can]

    def template(self, key: str, face: int | None = None) -> Template:
        """The parsed font; `face` picks another face of a font collection."""
        template = self._templates.get((key, face))
        if template is None:
            with self._lock:
                template = self._templates.get((key, face))
                if template is None:
                    spec = next(f for f in self.files if f.key == key)
                    if face is not None:
                        spec = replace(spec, face=face)
                    template = self._templates[key, face] = Template.load(spec)
        return template

    def keys(self, families: Iterable[str], bold: Iterable[str]) -> list[str]:
        """The fonts of `families`, with the bold ones of those in `bold` that have one."""
        wanted, bold = set(families), set(bold)
        return [
            f.key for f in self.files if f.family in wanted and (not f.style or f.family in bold)
        ]


_books: dict[tuple[Path, ...], FontBook] = {}
_book_lock = threading.Lock()


def font_book(dirs: tuple[Path, ...] = DEFAULT_FONT_DIRS) -> FontBook:
    """The fonts under `dirs`, found on the first call for them; ConfigurationError when
    there is no font at all to draw text with."""
    book = _books.get(dirs)
    if book is None:
        with _book_lock:
            book = _books.get(dirs)
            if book is None:
                files, missing = find_fonts(dirs)
                book = _books[dirs] = FontBook(files, missing)
    return book
