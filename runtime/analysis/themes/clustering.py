"""Fitting themes on a bounded sample of sentences: TF-IDF, LSA, k-means with k by silhouette.

Sentences are TF-IDF vectors over their content words' 1- and 2-grams (sublinear tf), kept
only when said in at least MIN_TERM_SESSIONS sessions of the sample (one respondent's
pet phrase is no theme) and in at most MAX_TERM_SENTENCE_SHARE of its sentences. They are
reduced by truncated SVD (LSA: paraphrases sharing some words move closer) and normalised,
then clustered by k-means for each k in MIN_THEMES..MAX_THEMES; the k with the best
silhouette (euclidean on the unit vectors, on a seeded sample) wins, ties to the smaller
k. A sentence belongs to its nearest centre when their cosine is at least MIN_SIMILARITY,
else to no theme (the outlier bucket, never shown). Clusters with the same anchor word
(the word most of their sentences hold) are one theme: k-means splits a large theme by
its paraphrases' secondary words before it separates two small themes. Every step is
seeded: the same sample gives the same model.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

SEED = 0
MIN_TERM_SESSIONS = 2
MAX_TERM_SENTENCE_SHARE = 0.5
MIN_THEMES = 2
MAX_THEMES = 12
SVD_COMPONENTS = 100
SILHOUETTE_SAMPLE = 2000
KMEANS_INITS = 4
MIN_SIMILARITY = 0.3
ANCHOR_SHARE = 0.6
# Fewer sentences with shared words than this, and there is nothing to cluster.
MIN_FIT_SENTENCES = 4


@dataclass(frozen=True)
class FitSentence:
    session_id: str
    terms: tuple[str, ...]


def grams(terms: Sequence[str]) -> list[str]:
    """A sentence's 1- and 2-grams of content words (the vectorisers' analyzer)."""
    return [*terms, *(f"{a} {b}" for a, b in itertools.pairwise(terms))]


@dataclass(frozen=True)
class Model:
    vocabulary: list[str]
    tfidf: TfidfVectorizer
    counter: CountVectorizer
    svd: TruncatedSVD | None
    centres: NDArray[np.float64]
    # Each centre's theme (centres sharing a best word share a theme), 0..themes-1.
    theme_of: tuple[int, ...]
    themes: int

    def embed(self, sentences: Sequence[Sequence[str]]) -> NDArray[np.float64]:
        vectors = self.tfidf.transform(sentences)
        dense = self.svd.transform(vectors) if self.svd is not None else vectors.toarray()
        out: NDArray[np.float64] = normalize(dense)
        return out

    def assign(self, sentences: Sequence[Sequence[str]]) -> list[tuple[int | None, float]]:
        """Each sentence's theme (None: no theme) and its cosine to the theme's centre."""
        if not sentences:
            return []
        similarity = self.embed(sentences) @ self.centres.T
        nearest = similarity.argmax(axis=1)
        out: list[tuple[int | None, float]] = []
        for row, centre in enumerate(nearest):
            value = round(float(similarity[row, centre]), 9)
            out.append((self.theme_of[centre] if value >= MIN_SIMILARITY else None, value))
        return out

    def counts(self, sentences: Sequence[Sequence[str]]) -> NDArray[np.float64]:
        """Term counts (sentences x vocabulary), for c-TF-IDF."""
        found: NDArray[np.float64] = self.counter.transform(sentences).toarray().astype(float)
        return found


def vocabulary(sample: Sequence[FitSentence]) -> list[str]:
    sessions: dict[str, set[str]] = {}
    sentences: dict[str, int] = {}
    for sentence in sample:
        for gram in set(grams(sentence.terms)):
            sessions.setdefault(gram, set()).add(sentence.session_id)
            sentences[gram] = sentences.get(gram, 0) + 1
    most = MAX_TERM_SENTENCE_SHARE * len(sample)
    return sorted(
        g for g, who in sessions.items() if len(who) >= MIN_TERM_SESSIONS and sentences[g] <= most
    )


def fit(sample: Sequence[FitSentence]) -> Model | None:
    """The themes of the sample, or None when too little of it is shared to cluster."""
    words = vocabulary(sample)
    if not words:
        return None
    tfidf = TfidfVectorizer(analyzer=grams, vocabulary=words, sublinear_tf=True)
    counter = CountVectorizer(analyzer=grams, vocabulary=words)
    matrix = tfidf.fit_transform([s.terms for s in sample])
    keep = np.flatnonzero(matrix.getnnz(axis=1))
    if len(keep) < MIN_FIT_SENTENCES:
        return None
    matrix = matrix[keep]
    svd: TruncatedSVD | None = None
    components = min(SVD_COMPONENTS, len(words) - 1, len(keep) - 1)
    if components >= 2 and len(words) > SVD_COMPONENTS:
        svd = TruncatedSVD(n_components=components, random_state=SEED)
        points = normalize(svd.fit_transform(matrix))
    else:
        points = normalize(matrix.toarray())
    distinct = len(np.unique(points.round(9), axis=0))
    best: tuple[float, int, NDArray[np.float64], NDArray[np.int64]] | None = None
    for k in range(MIN_THEMES, min(MAX_THEMES, distinct - 1) + 1):
        km = KMeans(n_clusters=k, n_init=KMEANS_INITS, random_state=SEED).fit(points)
        value = float(
            silhouette_score(
                points,
                km.labels_,
                metric="euclidean",  # on unit vectors: as cosine ranks, and faster
                sample_size=min(SILHOUETTE_SAMPLE, len(points)),
                random_state=SEED,
            )
        )
        if best is None or value > best[0] + 1e-9:
            best = (value, k, km.cluster_centers_, km.labels_)
    if best is None:
        # Too few distinct sentences to compare two clusterings: they are one cluster.
        best = (0.0, 1, points.mean(axis=0, keepdims=True), np.zeros(len(points), np.int64))
    _, k, centres, assigned = best
    centres = normalize(centres)
    model = Model(words, tfidf, counter, svd, centres, tuple(range(k)), k)
    return _merged(model, [sample[int(i)].terms for i in keep], points, assigned)


def _merged(
    model: Model,
    sentences: list[tuple[str, ...]],
    points: NDArray[np.float64],
    assigned: NDArray[np.int64],
) -> Model:
    """The model with clusters that share their anchor word made one theme; a cluster with
    no anchor is first cut in two by k-means, kept cut if both halves have one (two small
    themes k-means had put together by a word they share, like "people")."""
    reach: dict[str, int] = {}  # word -> sentences of the sample holding it
    for terms in sentences:
        for word in set(terms):
            reach[word] = reach.get(word, 0) + 1
    known = set(model.vocabulary)
    centres = list(model.centres)
    labels = assigned.copy()
    for cluster in range(len(model.centres)):
        rows = np.flatnonzero(assigned == cluster)
        if len(rows) < 2 * MIN_FIT_SENTENCES or _anchor([sentences[r] for r in rows], reach, known):
            continue
        halves = KMeans(n_clusters=2, n_init=KMEANS_INITS, random_state=SEED).fit(points[rows])
        parts = [rows[halves.labels_ == h] for h in (0, 1)]
        if all(_anchor([sentences[r] for r in part], reach, known) for part in parts):
            centres[cluster] = halves.cluster_centers_[0]
            centres.append(halves.cluster_centers_[1])
            labels[parts[1]] = len(centres) - 1
    theme_of: list[int] = []
    seen: dict[str, int] = {}
    for cluster in range(len(centres)):
        members = [sentences[r] for r in np.flatnonzero(labels == cluster)]
        key = _anchor(members, reach, known) or f"#{cluster}"
        theme_of.append(seen.setdefault(key, len(seen)))
    return Model(
        model.vocabulary,
        model.tfidf,
        model.counter,
        model.svd,
        normalize(np.array(centres)),
        tuple(theme_of),
        len(seen),
    )


def _anchor(members: list[tuple[str, ...]], reach: dict[str, int], known: set[str]) -> str | None:
    """Of the words at least ANCHOR_SHARE of a cluster's sentences hold, the one said most
    widely in the sample (ties: the one more of the cluster holds, then the word): k-means
    splits one theme's paraphrases by their secondary words ("battery drain", "charge it
    twice a day, the battery is weak"), and the anchor joins them again."""
    held: dict[str, int] = {}
    for terms in members:
        for word in set(terms):
            if word in known:
                held[word] = held.get(word, 0) + 1
    if not held:
        return None
    common = [w for w in held if held[w] >= ANCHOR_SHARE * len(members)]
    return min(common, key=lambda w: (-reach.get(w, 0), -held[w], w)) if common else None
