"""Content words and theme labels: stopwords by language, plurals, CJK pairs, c-TF-IDF."""

from __future__ import annotations

import numpy as np

from runtime.analysis.themes import clustering, labels
from runtime.analysis.themes.terms import terms


def test_content_words_by_language() -> None:
    assert terms("I don't know, the batteries die before lunch.", "en") == (
        "battery",
        "die",
        "lunch",
    )
    assert terms("Das weiß ich nicht, aber der Akku ist leer.", "de") == ("akku", "leer")
    assert terms("電池が切れる", "ja")[:2] == ("電池", "池が")
    assert terms("Hmm, okay, yeah.", "en") == ()


def test_ctfidf_prefers_what_is_particular_to_a_class() -> None:
    vocabulary = ["battery", "day", "price"]
    counts = np.array([[5.0, 3.0, 0.0], [0.0, 3.0, 4.0], [0.0, 3.0, 0.0]])
    weights = labels.ctfidf(counts)
    assert labels.top_terms(weights[0], vocabulary, 1) == ["battery"]
    assert labels.top_terms(weights[1], vocabulary, 1) == ["price"]
    words = ["battery", "battery life", "x"]
    weights = np.array([1.0, 0.8, 0.0])
    assert labels.title(weights, np.array([10.0, 6.0, 0.0]), words) == "Battery Life"
    assert labels.title(weights, np.array([10.0, 2.0, 0.0]), words) == "Battery"


def test_one_repeated_theme_is_one_cluster() -> None:
    sample = [
        clustering.FitSentence(f"s{i}", ("battery", "dies") if i % 2 else ("battery", "weak"))
        for i in range(6)
    ]
    model = clustering.fit(sample)
    assert model is not None and model.themes == 1
    # "battery" is in every sentence (past MAX_TERM_SENTENCE_SHARE): not a term of its own.
    assert {theme for theme, _ in model.assign([("battery", "weak"), ("dies",)])} == {0}
    assert model.assign([("unrelated",)]) == [(None, 0.0)]
