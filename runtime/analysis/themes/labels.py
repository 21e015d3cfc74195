"""Theme labels from class-based TF-IDF (BERTopic's c-TF-IDF): a title and typical words.

For term t and class (theme) c: W(t, c) = tf(t, c) / |c| * log(1 + A / f(t)), where tf is the
term's count in the class's sentences, |c| the class's term count, A the mean term count per
class and f(t) the term's count over all classes (the outlier class included, so words
common outside every theme rank low).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Typical words shown per theme.
KEYWORDS_PER_THEME = 5
# A two-word phrase holding the best word titles the theme when at least this share of the
# word's uses in the theme are in the phrase ("battery life" rather than "battery" when
# most of those who mention the battery talk of its life).
TITLE_PHRASE_SHARE = 0.5


def ctfidf(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """c-TF-IDF weights of a (classes x terms) count matrix."""
    sizes = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, sizes, out=np.zeros_like(counts), where=sizes > 0)
    frequency = counts.sum(axis=0)
    average = float(sizes.sum()) / max(1, counts.shape[0])
    idf = np.log1p(np.divide(average, frequency, out=np.zeros_like(frequency), where=frequency > 0))
    weights: NDArray[np.float64] = tf * idf
    return weights


def top_terms(weights: NDArray[np.float64], vocabulary: list[str], n: int) -> list[str]:
    """The class's n best terms, best first (ties by the term, for determinism)."""
    order = sorted(
        (i for i in range(len(vocabulary)) if weights[i] > 0),
        key=lambda i: (-round(float(weights[i]), 12), vocabulary[i]),
    )
    return [vocabulary[i] for i in order[:n]]


def title(weights: NDArray[np.float64], counts: NDArray[np.float64], vocabulary: list[str]) -> str:
    """The theme's best term, or the phrase most uses of it are in; title-cased."""
    ranked = top_terms(weights, vocabulary, 20)
    if not ranked:
        return "Other"
    best = ranked[0]
    index = {t: i for i, t in enumerate(vocabulary)}
    if " " not in best:
        floor = TITLE_PHRASE_SHARE * float(counts[index[best]])
        for term in ranked[1:]:
            if " " in term and best in term.split() and float(counts[index[term]]) >= floor:
                best = term
                break
    return " ".join(word[:1].upper() + word[1:] for word in best.split())
