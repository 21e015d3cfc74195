"""Sentences as offsets into the stored text: terminators of any script, abbreviations kept."""

from __future__ import annotations

from runtime.analysis.themes.sentences import spans


def pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in spans(text)]


def test_latin_terminators_split_and_offsets_are_exact() -> None:
    text = (
        "  The battery dies before lunch! Is it weak? I charge it twice a day.\n"
        "Sync fails on the train "
    )
    found = spans(text)
    assert [text[a:b] for a, b in found] == [
        "The battery dies before lunch! Is it weak?",  # too short to stand alone
        "I charge it twice a day.",
        "Sync fails on the train",
    ]


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    assert pieces("Some tools, e.g. the exporter, are slow. Dr. Smith agreed with me.") == [
        "Some tools, e.g. the exporter, are slow.",
        "Dr. Smith agreed with me.",
    ]


def test_an_ellipsis_and_decimals() -> None:
    assert pieces(
        "It costs 9.99 a month\u2026 which is fine for our team. The setup was slow."
    ) == [
        "It costs 9.99 a month\u2026",
        "which is fine for our team.",
        "The setup was slow.",
    ]


def test_short_fragments_stay_attached() -> None:
    assert pieces("Yes. The battery dies before lunch. Hmm, ok.") == [
        "Yes. The battery dies before lunch. Hmm, ok."
    ]
    assert pieces("No.") == ["No."]
    assert pieces("") == []


def test_scripts_without_spaces_and_arabic() -> None:
    assert pieces("電池がすぐ切れる。料金が高すぎると思う\uff01") == [
        "電池がすぐ切れる。",
        "料金が高すぎると思う\uff01",
    ]
    arabic = "البطارية تنفد بسرعة كبيرة؟ السعر مرتفع جدا للفريق الصغير."
    assert pieces(arabic) == ["البطارية تنفد بسرعة كبيرة؟", "السعر مرتفع جدا للفريق الصغير."]
