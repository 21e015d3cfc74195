"""Quote verification: what is found is the stored text at its offsets; what is not, is None."""

from __future__ import annotations

from runtime.analysis import quotes

SAID = (
    "Honestly\u200b, the \u201cpricing page\u201d \u2014 it was  confusing\u2026 "
    "I gave up and called Sales."
)


def test_an_exact_quote_is_found_despite_typography_and_case() -> None:
    found = quotes.find('"The "pricing page" - it was confusing..."', "m1", SAID)
    assert found is not None and found.method == "exact"
    assert SAID[found.start : found.end] == found.text
    assert found.text.startswith("the \u201cpricing page\u201d")


def test_segments_cut_by_an_ellipsis_must_occur_in_order() -> None:
    found = quotes.find("the pricing page ... called sales", "m1", SAID)
    assert found is not None and found.method == "segments"
    assert found.text.endswith("called Sales")
    assert quotes.find("called sales ... the pricing page", "m1", SAID) is None


def test_a_close_paraphrase_shows_the_stored_words() -> None:
    found = quotes.find("I gave up and calld sales", "m1", SAID)
    assert found is not None and found.method == "fuzzy" and found.score >= quotes.FUZZY_THRESHOLD
    assert found.text == "I gave up and called Sales"


def test_a_fabricated_quote_is_not_found() -> None:
    assert quotes.find("the onboarding emails were far too frequent", "m1", SAID) is None
    assert quotes.find("it", "m1", SAID) is None  # too short to mean anything


def test_locate_prefers_the_cited_message_and_falls_back_to_the_others() -> None:
    answers = [("m1", "I like the colours."), ("m2", "Support never answered my emails.")]
    found = quotes.locate("support never answered", answers, prefer="m1")
    assert found is not None and found.message_id == "m2" and found.start == 0
