"""The PDF report, read back with poppler's pdftotext and pdffonts."""

from __future__ import annotations

import asyncio
import re
import subprocess

from runtime.analysis.synthesis import report_pdf
from tests.runtime.analysis.synthesis import seeding

# Bidi marks pdftotext puts around right-to-left runs.
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e]")


def text_of(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return _BIDI_MARKS.sub("", out.stdout.decode())


def fonts_of(data: bytes) -> str:
    out = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=False)
    if out.returncode != 0:  # older poppler reads no stdin: through a file
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(data)
            f.flush()
            out = subprocess.run(["pdffonts", f.name], capture_output=True, check=True)
    return out.stdout.decode()


def test_the_pdf_holds_the_themes_and_every_quote_in_its_script() -> None:
    data = report_pdf.pdf(seeding.view(), "Pricing study")
    assert data.startswith(b"%PDF-")
    text = text_of(data)
    flat = " ".join(text.split())
    for expected in (
        "Synthesis: Pricing study",
        "Made by the offline engine · generated 2026-11-21 10:30:00 UTC · 5 sessions",
        "Summary", "Themes", "1. Pricing is confusing", "2. Support is quick",
        "4 of 5 participants (80%)", "The pricing page was confusing",
        "— Ada · session ses_1, message msg_1", "Participant 6", "Divergent views",
        "A joke (1 participant)", "Quotes dropped",
        "2 (proposed, but not found in the stored messages)",
        "<script>alert(1)</script>",
    ):  # fmt: skip
        assert expected in flat, expected
    # The Chinese and Arabic quotes, drawn in their fonts and read back as written.
    assert "价格页面让我很困惑" in flat.replace(" ", "")
    for word in ("صفحة", "مربكة", "جدا"):  # (pdftotext misorders lam-alef)
        assert word in text, word
    fonts = fonts_of(data)
    assert "NotoSansCJK" in fonts and "NotoSansArabic" in fonts


def test_the_same_synthesis_gives_the_same_bytes_and_renders_off_the_loop() -> None:
    first = report_pdf.pdf(seeding.view(), "Pricing study")
    assert asyncio.run(report_pdf.render(seeding.view(), "Pricing study")) == first


def test_a_latin_only_report_embeds_only_the_primary_font() -> None:
    plain = seeding.view(themes=[], divergent_views=[], summary="Nothing stood out.")
    data = report_pdf.pdf(plain, "Pricing study")
    assert "No themes were found." in text_of(data)
    fonts = fonts_of(data)
    assert "NotoSansCJK" not in fonts and "NotoSansArabic" not in fonts


def test_characters_no_font_draws_are_marked_and_said_so() -> None:
    odd = seeding.view(summary="Mro letters \U00016a40\U00016a41 here.")
    text = " ".join(text_of(report_pdf.pdf(odd, "Pricing study")).split())
    assert "\ufffd\ufffd here." in text
    assert "the JSON and Markdown reports have them all" in text
