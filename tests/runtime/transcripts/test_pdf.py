"""Transcript PDFs, read back with poppler's pdftotext, pdfinfo and pdffonts."""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from runtime.platform.errors import ConfigurationError
from runtime.transcripts.pdf import (
    MAX_COLOUR_GLYPHS,
    PdfMessage,
    PdfTranscript,
    fonts,
    layout,
    render_transcript,
)

START = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ANSWER = (
    "Honestly, a colleague mentioned it in a team meeting. I was sceptical at first, because "
    "we had tried similar tools before and they never stuck."
)
# Bidi marks pdftotext puts around right-to-left runs.
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e]")


def transcript(*texts: str, title: str = "Customer discovery") -> PdfTranscript:
    messages = [
        PdfMessage(
            "interviewer" if i % 2 == 0 else "respondent", text, START + timedelta(seconds=40 * i)
        )
        for i, text in enumerate(texts)
    ]
    fields = [("Interview", title), ("Session", "ses_01J9Z"), ("Status", "completed")]
    return PdfTranscript(title=title, fields=fields, messages=messages)


def write(tmp_path: Path, doc: PdfTranscript) -> Path:
    path = tmp_path / "transcript.pdf"
    path.write_bytes(render_transcript(doc))
    return path


def poppler(tool: str, *args: str | Path) -> str:
    """The tool's output; poppler reports a malformed file on stderr and carries on, so
    anything there fails the test."""
    result = subprocess.run(
        [tool, *map(str, args)], check=True, capture_output=True, text=True, timeout=30
    )
    assert result.stderr == "", result.stderr
    return result.stdout


def text_of(path: Path) -> str:
    return _BIDI_MARKS.sub("", poppler("pdftotext", "-enc", "UTF-8", path, "-"))


def pages(path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", poppler("pdfinfo", path), re.MULTILINE)
    assert match
    return int(match.group(1))


def test_title_metadata_turns_and_page_numbers(tmp_path: Path) -> None:
    doc = transcript("How did you first hear about us?", ANSWER, title="Onboarding study, wave 2")
    path = write(tmp_path, doc)
    text = text_of(path)
    assert "Onboarding study, wave 2" in text
    for label, value in doc.fields:
        assert label in text and value in text
    assert "Interviewer · 2026-11-25 09:30:00 UTC" in text
    assert "Respondent · 2026-11-25 09:30:40 UTC" in text
    assert "How did you first hear about us?" in text
    assert "they never stuck." in text
    assert pages(path) == 1
    assert "Page 1 of 1" in text
    # The footer is centred on the page.
    footer = [(x_min, x_max) for x_min, y_min, x_max, _ in words_with_boxes(path) if y_min > 800]
    centre = (min(x for x, _ in footer) + max(x for _, x in footer)) / 2
    assert centre == pytest.approx(595.28 / 2, abs=2)
    info = poppler("pdfinfo", path)
    assert "Title:           Onboarding study, wave 2" in info


def test_an_answer_shows_what_was_recorded_from_it(tmp_path: Path) -> None:
    doc = transcript("Which plan?", "The middle one", "And your team?", "不知道", "Thanks!")
    notes = ["", "Recorded: Pro", "", "Recorded: 专业版", ""]
    messages = [dataclasses.replace(m, note=n) for m, n in zip(doc.messages, notes, strict=True)]
    text = text_of(write(tmp_path, dataclasses.replace(doc, messages=messages)))
    # Under its answer, before the next turn; in whichever font draws the label.
    assert text.index("The middle one") < text.index("Recorded: Pro") < text.index("And your")
    assert text.index("不知道") < text.index("Recorded: 专业版") < text.index("Thanks!")
    assert text.count("Recorded:") == 2
    # A character no font draws is marked in a note as anywhere else.
    book = fonts.font_book(only_dejavu(tmp_path))
    path = tmp_path / "dejavu.pdf"
    path.write_bytes(render_transcript(dataclasses.replace(doc, messages=messages), book))
    assert "Recorded: \ufffd\ufffd\ufffd" in text_of(path)


def test_long_transcript_breaks_across_pages_and_numbers_every_page(tmp_path: Path) -> None:
    long_answer = "\n".join(f"Paragraph {n}. {ANSWER}" for n in range(60))
    texts = [f"Question {n}: what happened next?" if n % 2 == 0 else ANSWER for n in range(80)]
    path = write(tmp_path, transcript(*texts, long_answer))
    count = pages(path)
    assert count >= 6
    text = text_of(path)
    for page in range(1, count + 1):
        assert f"Page {page} of {count}" in text
    # Every paragraph of the one long answer is there, in order, across its page breaks.
    positions = [text.index(f"Paragraph {n}.") for n in range(60)]
    assert positions == sorted(positions)
    assert text.count("they never stuck.") == 40 + 60


def test_long_lines_wrap_inside_the_margins(tmp_path: Path) -> None:
    url = "https://example.com/" + "a1b2c3d4" * 60
    path = write(tmp_path, transcript(ANSWER * 8, url, "中文" * 200))
    html = poppler("pdftotext", "-bbox", path, "-")
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', html)]
    assert right_edges
    margin = 20 / 25.4 * 72
    assert max(right_edges) <= page_width - margin + 1
    assert url in text_of(path).replace("\n", "")


@pytest.mark.parametrize(
    ("script", "sample", "font"),
    [
        ("chinese", "我们非常喜欢这个产品的设计", "NotoSansCJKSC"),
        ("traditional chinese", "我們非常喜歡這個產品的設計", "NotoSansCJKTC"),
        ("japanese", "日本語のテキストもきちんと表示されます", "NotoSansCJKJP"),
        ("korean", "한국어 텍스트도 잘 보입니다", "NotoSansCJKKR"),
        ("arabic", "مرحبا بالعالم", "NotoSansArabic NotoSansArabicBold"),
        ("hebrew", "שלום עולם", "NotoSansHebrew NotoSansHebrewBold"),
        ("greek and cyrillic", "Καλημέρα κόσμε, Привет мир", "NotoSans "),
    ],
)
def test_scripts_are_rendered_as_text_in_their_font(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, script: str, sample: str, font: str
) -> None:
    with caplog.at_level(logging.WARNING):
        path = write(tmp_path, transcript("Tell me more.", f"{sample}. Done.", title=sample))
    text = text_of(path)
    for word in sample.split():
        assert text.count(word.strip(",")) >= 2, (script, word)  # the title and the turn
    assert "missing" not in caplog.text
    # The embedded fonts: Noto Sans (regular, bold) and the script's own, nothing else
    # (bold too where it has one, as the title is in that script); Chinese, Japanese and
    # Korean each get their own face of Noto Sans CJK.
    names = re.findall(r"^MPDFAA\+(\S+)", poppler("pdffonts", path), re.MULTILINE)
    assert {"NotoSans", "NotoSansBold", *font.split()} == set(names)


def test_right_to_left_paragraphs_are_right_aligned(tmp_path: Path) -> None:
    path = write(tmp_path, transcript("Question?", "שלום עולם", "Short answer."))
    html = poppler("pdftotext", "-bbox", path, "-")
    words = re.findall(r'xMax="([\d.]+)"[^>]*>([^<]+)</word>', html)
    hebrew = [float(x) for x, word in words if re.search("[\u0590-\u05ff]", word)]
    latin = [float(x) for x, word in words if word == "answer."]
    # The Hebrew line ends at the right margin (56.7 pt from the edge); the Latin one
    # well before it.
    assert len(hebrew) == 2 and max(hebrew) == pytest.approx(595.28 - 56.69, abs=3)
    assert latin and latin[0] < 200


def test_emoji_are_drawn_from_the_colour_font(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        path = write(tmp_path, transcript("How did it feel?", "Great 😀🎉👍❤️ really"))
    fonts = poppler("pdffonts", path)
    assert "Type 3" in fonts  # the colour glyphs, as images
    text = text_of(path)
    # pdftotext lists a line's colour glyphs apart from its other words, but has them all.
    assert "😀🎉👍❤" in text and "Great" in text and "really" in text
    assert "missing" not in caplog.text


def test_only_the_fonts_a_document_uses_are_embedded(tmp_path: Path) -> None:
    latin = poppler("pdffonts", write(tmp_path, transcript("Question?", ANSWER)))
    assert "NotoSans" in latin
    assert not re.search("CJK|Arabic|Hebrew|Type 3", latin)
    mixed = poppler("pdffonts", write(tmp_path, transcript("Question?", "中文 עברית")))
    assert "NotoSansCJK" in mixed and "NotoSansHebrew " in mixed
    assert "Arabic" not in mixed and "HebrewBold" not in mixed  # no bold Hebrew text


def test_latin_text_is_never_shaped(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("shaping switched on for text that does not need it")

    monkeypatch.setattr(layout.TranscriptPdf, "set_text_shaping", refuse)
    render_transcript(transcript("Question?", ANSWER, "中文 😀 Ελληνικά"))
    with pytest.raises(AssertionError, match="shaping"):
        render_transcript(transcript("Question?", "مرحبا"))


def test_same_input_same_bytes_from_concurrent_threads() -> None:
    docs = [
        transcript("Question?", ANSWER),
        transcript("Question?", ANSWER * 5, "中文 😀"),
        transcript("مرحبا بالعالم", "שלום עולם", title="RTL"),
        transcript("日本語のテキスト", ANSWER, "한국어", "😀 🎉 " * 3),
        transcript(*[ANSWER] * 12),
    ]
    expected = [render_transcript(doc) for doc in docs]
    assert render_transcript(docs[1]) == expected[1]  # deterministic
    jobs = [n % len(docs) for n in range(2 * len(docs))]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: render_transcript(docs[n]), jobs))
    for n, result in zip(jobs, results, strict=True):
        assert result == expected[n], n
    assert fonts.font_book() is fonts.font_book()


def test_control_characters_and_empty_texts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        transcript("Tab\there\r\nand a bell\x07.", "", "   ", "soft\xadly", "{nb} שלום {nb}"),
    )
    text = text_of(path)
    assert text.count("nb") == 2  # fpdf2's page-count alias, taken literally (not "1")
    assert "softly" in text
    assert re.search(r"Tab +here\nand a bell\.\n", text)
    assert pages(path) == 1


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def only_dejavu(tmp_path: Path) -> tuple[Path, ...]:
    """Font directories holding DejaVu Sans alone, as a fresh Debian system has."""
    fonts_dir = tmp_path / "fonts"
    fonts_dir.mkdir(exist_ok=True)
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        (fonts_dir / name).unlink(missing_ok=True)
        (fonts_dir / name).symlink_to(DEJAVU / name)
    return (fonts_dir,)


def test_with_only_dejavu_what_no_font_draws_is_marked(tmp_path: Path) -> None:
    book = fonts.font_book(only_dejavu(tmp_path))
    assert [f.path.name for f in book.files] == ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]
    doc = transcript("Tell me more.", "I said שלום and 中文 to them", "Plain English.")
    path = tmp_path / "dejavu.pdf"
    path.write_bytes(render_transcript(doc, book))
    text = text_of(path)
    # (pdftotext moves the spaces around a right-to-left word.)
    assert "שלום" in text and "and \ufffd\ufffd to them" in text
    assert "中" not in text and "Plain English." in text
    assert "could not be drawn with the fonts installed on the server" in text
    names = set(re.findall(r"^MPDFAA\+(\S+)", poppler("pdffonts", path), re.MULTILINE))
    assert names == {"DejaVuSansBook", "DejaVuSansBold"}
    can, cannot = book.scripts()
    assert {"Latin", "Hebrew"} <= {s.name for s in can}
    assert {"Chinese", "Japanese", "Korean"} <= {s.name for s in cannot}
    assert {s.package for s in cannot} >= {"fonts-noto-cjk"}


def test_with_every_font_only_what_none_has_is_marked(tmp_path: Path) -> None:
    # Georgian: DejaVu Sans, the last fallback; a private-use character: no font at all.
    path = write(tmp_path, transcript("Question?", "გამარჯობა and \ue000 here"))
    text = text_of(path)
    assert "გამარჯობა and \ufffd here" in text
    assert "could not be drawn" in text
    assert fonts.font_book().scripts()[1] == [], "every script of the table is drawn here"
    plain = text_of(write(tmp_path, transcript("Question?", ANSWER)))
    assert "\ufffd" not in plain and "could not be drawn" not in plain


def test_with_no_font_at_all_rendering_is_a_clear_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="apt-get install fonts-noto-core"):
        fonts.font_book((tmp_path,))


def test_more_distinct_emoji_than_a_type3_font_holds_fall_back_to_monochrome(
    tmp_path: Path,
) -> None:
    many = "".join(chr(code) for code in range(0x1F600, 0x1F650))  # 80 faces
    many += "".join(chr(code) for code in range(0x1F300, 0x1F3F0))  # 240 symbols
    assert len(many) > MAX_COLOUR_GLYPHS
    path = write(tmp_path, transcript("Pick one.", many))
    fonts = poppler("pdffonts", path)
    assert "Type 3" not in fonts and "Symbola" in fonts
    assert many[:80] in text_of(path).replace("\n", "")
    # Below the limit the same emoji are in colour.
    assert "Type 3" in poppler("pdffonts", write(tmp_path, transcript("Pick one.", many[:200])))


def words_with_boxes(path: Path) -> list[tuple[float, float, float, str]]:
    """(xMin, yMin, xMax, word) for every word pdftotext finds."""
    html = poppler("pdftotext", "-bbox", path, "-")
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)</word>', html
    )
    return [(float(a), float(b), float(c), _BIDI_MARKS.sub("", w)) for a, b, c, w in found]


def test_long_right_to_left_paragraphs_wrap_and_every_line_is_right_aligned(
    tmp_path: Path,
) -> None:
    arabic = "بدأ فريقنا استخدام لوحة المعلومات الجديدة الأسبوع الماضي وهي أسهل بكثير. " * 6
    path = write(tmp_path, transcript("Question?", arabic))
    arabic_words = sorted(
        (y_min, x_min, x_max)
        for x_min, y_min, x_max, word in words_with_boxes(path)
        if re.search("[\u0600-\u06ff]", word)
    )
    # Words whose tops are within 6 pt of the line's first word are on that line (a word
    # ending in a full stop has a lower top).
    lines: list[list[tuple[float, float]]] = []
    top = -100.0
    for y_min, x_min, x_max in arabic_words:
        if y_min - top > 6:
            lines.append([])
            top = y_min
        lines[-1].append((x_min, x_max))
    assert len(lines) >= 3  # it wrapped
    left, right = 20 / 25.4 * 72, 595.28 - 20 / 25.4 * 72
    for boxes in lines:
        assert max(x_max for _, x_max in boxes) == pytest.approx(right, abs=3)
        assert min(x_min for x_min, _ in boxes) >= left - 1
    text = text_of(path)
    assert text.count("فريقنا") == 6 and text.count("الماضي") == 6
    # The full stops too, drawn in Noto Sans (pdftotext puts a space before some).
    assert re.sub(r"\s", "", text).count("بكثير.") == 6


def test_text_after_a_shaped_line_is_drawn_in_its_own_font(tmp_path: Path) -> None:
    # The last line starts (on the left) with a full stop in Noto Sans, after a line that
    # ended in the Arabic font; then a Latin paragraph follows in the same turn.
    answer = "وهي أسهل\nبكثير.\nAnd then in English."
    path = write(tmp_path, transcript("Question?", answer))
    text = text_of(path)
    # (pdftotext puts a line's leading full stop on either side.)
    assert re.search(r"^(\.بكثير|بكثير\.)$", text, re.MULTILINE)
    assert "And then in English." in text


def test_a_left_to_right_paragraph_with_an_arabic_word_is_shaped_and_left_aligned(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, transcript("Question?", "The respondent said مرحبا twice, then left."))
    boxes = {word: x_min for x_min, _, _, word in words_with_boxes(path)}
    assert boxes["The"] == pytest.approx(20 / 25.4 * 72, abs=1)
    assert boxes["The"] < boxes["respondent"] < boxes["said"] < boxes["twice,"] < boxes["left."]
    assert "مرحبا" in text_of(path)


def test_an_empty_transcript_and_naive_or_offset_times(tmp_path: Path) -> None:
    path = write(tmp_path, PdfTranscript(title="", fields=[], messages=[]))
    assert pages(path) == 1 and "Page 1 of 1" in text_of(path)
    offset = datetime(2026, 11, 25, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2026, 11, 25, 9, 45)
    doc = PdfTranscript(
        "Times",
        [],
        [PdfMessage("interviewer", "Hello", offset), PdfMessage("observer", "Note", naive)],
    )
    text = text_of(write(tmp_path, doc))
    assert "Interviewer · 2026-11-25 09:30:00 UTC" in text
    assert "Observer · 2026-11-25 09:45:00 UTC" in text  # an unknown role, capitalised


def test_korean_breaks_between_words_and_chinese_between_characters(tmp_path: Path) -> None:
    korean = "다만 월요일 아침에는 보고서가 느리게 열려서 조금 불편합니다. " * 6
    lines = text_of(write(tmp_path, transcript("Question?", korean))).splitlines()
    words = set(korean.split())
    korean_lines = [line for line in lines if re.search("[\uac00-\ud7af]", line)]
    assert len(korean_lines) >= 2
    for line in korean_lines:
        assert set(line.split()) <= words, line  # no word cut in two
    chinese = "我们团队上周开始使用新的仪表板\uff0c它比旧的电子表格容易得多。" * 8
    lines = text_of(write(tmp_path, transcript("Question?", chinese))).splitlines()
    chinese_lines = [line for line in lines if "团" in line or "表" in line]
    assert len(chinese_lines) >= 2
    # Lines fill the width; none starts with closing punctuation.
    assert not any(line[0] in "\uff0c。" for line in chinese_lines)


def test_a_second_reader_mupdf_draws_and_reads_every_script(tmp_path: Path) -> None:
    # The embedded fonts leave out what a PDF reader does not use (character map, glyph
    # names, OS/2): MuPDF, another engine than poppler, must draw them without a word.
    answers = ["中文测试", "日本語のテキスト", "한국어 텍스트", "مرحبا بالعالم", "שלום עולם"]
    path = write(tmp_path, transcript("Question?", *answers, "Great 😀 then 🎉 done"))
    for output in ("txt", "png"):
        result = subprocess.run(
            ["mutool", "draw", "-F", output, "-o", str(tmp_path / f"page.{output}"), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        complaints = [
            line
            for line in result.stderr.splitlines()
            if line and "ICC support" not in line and not line.startswith("page ")
        ]
        assert complaints == [], complaints
    text = (tmp_path / "page.txt").read_text()
    for sample in answers[:3]:
        assert sample in text
    assert "Great 😀 then 🎉 done" in text and "Page 1 of 1" in text
    # MuPDF gives right-to-left text in visual order.
    assert "مرحبا"[::-1] in text or "مرحبا" in text
    assert "שלום"[::-1] in text
    assert (tmp_path / "page.png").stat().st_size > 10_000


async def test_voice_turns_are_marked_beside_their_role(tmp_path: Path) -> None:
    from runtime.platform.settings import DEFAULT_FONT_DIRS
    from runtime.transcripts import pdf_files

    spoken = {"modality": "voice", "audio": {"key": "voice/s/c.ogg"}}
    messages = [
        {"role": "interviewer", "content": "Hi, thanks for", "created_at": START,
         "metadata": {**spoken, "interrupted": True, "written": "Hi, thanks for joining!"}},
        {"role": "respondent", "content": "Sure", "created_at": START, "metadata": spoken},
        {"role": "interviewer", "content": "Which plan?", "created_at": START,
         "metadata": {"modality": "text"}},
        {"role": "respondent", "content": "Pro", "created_at": START, "metadata": {}},
    ]  # fmt: skip
    path = tmp_path / "voice.pdf"
    path.write_bytes(await pdf_files.render("Voice", [], messages, DEFAULT_FONT_DIRS))
    text = text_of(path)
    assert "Interviewer · voice, interrupted · " in text
    assert "Respondent · voice · " in text
    assert text.count("voice") == 2, "typed turns carry no mark"
    assert "joining" not in text, "what was heard is the turn"
