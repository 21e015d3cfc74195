from runtime.voice.sentences import SentenceSplitter


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def split(text: str, size: int = 3) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in pieces(text, size):
        out.extend(splitter.feed(piece))
    rest = splitter.finish()
    return [*out, rest] if rest else out


def test_sentences_complete_as_they_stream_whatever_the_chunking() -> None:
    text = "Thanks for joining today. How often do you cook at home? Tell me more!"
    expected = ["Thanks for joining today.", "How often do you cook at home?", "Tell me more!"]
    for size in (1, 2, 5, 17, len(text)):
        assert split(text, size) == expected


def test_a_sentence_is_given_as_soon_as_the_next_begins() -> None:
    splitter = SentenceSplitter()
    # A question mark ends it at once; a dot may still become "3.5" or "...": it waits.
    assert splitter.feed("How often do you cook at home?") == ["How often do you cook at home?"]
    assert splitter.feed("It was 3.") == []
    assert splitter.feed("5 times. I") == ["It was 3.5 times."]


def test_numbers_abbreviations_and_short_sentences_do_not_cut() -> None:
    assert split("It costs 3.50 a month, said Dr. Smith to me. Yes. Is that too much?") == [
        "It costs 3.50 a month, said Dr. Smith to me.",
        "Yes. Is that too much?",
    ]


def test_cjk_sentence_ends_cut_without_spaces() -> None:
    assert split("今日はありがとうございます。料理をよくしますか\uff1f", 2) == [
        "今日はありがとうございます。",
        "料理をよくしますか\uff1f",
    ]


def test_a_run_on_text_is_cut_at_a_comma_past_the_limit() -> None:
    text = "so " * 60 + "and, then " + "more " * 40
    out = split(text, 7)
    assert all(len(s) <= 220 for s in out) and len(out) >= 2
    assert " ".join(out).split() == text.split()
