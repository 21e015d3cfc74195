"""A session's extractive summary, offline and deterministic: its key points are the
respondent's most informative sentences (TextRank over the session's sentences), verbatim,
each citing the messages that say it; the overview is assembled from them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from runtime.analysis import quotes
from runtime.analysis.corpus import Answer
from runtime.analysis.summaries.sentences import split, word_count
from runtime.analysis.summaries.views import KeyPoint
from runtime.coverage.views import SessionCoverage

# Key points a summary keeps, and how many of them the overview repeats.
MAX_KEY_POINTS = 5
OVERVIEW_POINTS = 3
# A sentence shorter than this says too little to be a key point.
MIN_KEY_POINT_WORDS = 4
# A longer sentence is cut at the last space before this (a prefix: still verbatim).
MAX_KEY_POINT_CHARS = 300
# Sentences ranked per session, the first ones in order: bounds the similarity matrix
# (quadratic in them) whatever one session holds.
MAX_SENTENCES = 400
# Character n-grams within words: similarity that needs no word list nor word breaks, so a
# Japanese or Arabic session is ranked like an English one.
_NGRAMS = (2, 4)
# PageRank's parameters, networkx's defaults.
PAGERANK_DAMPING = 0.85
PAGERANK_MAX_ITERATIONS = 100
PAGERANK_TOLERANCE = 1e-6
_ENDS = ".!?\u2026\u3002\uff01\uff1f\u061f"


@dataclass(frozen=True)
class Candidate:
    text: str
    message_ids: tuple[str, ...]
    item_id: str | None
    order: int  # its place in the conversation
    words: int


@dataclass(frozen=True)
class Summary:
    overview: str
    key_points: list[KeyPoint]


def summarise(answers: Sequence[Answer], coverage: SessionCoverage) -> Summary:
    """The key points in conversation order, and the overview."""
    ranked = [c for c in _rank(candidates(answers))[:MAX_KEY_POINTS] if _verbatim(c, answers)]
    points = [_point(c) for c in sorted(ranked, key=lambda c: c.order)]
    main = [_point(c) for c in sorted(ranked[:OVERVIEW_POINTS], key=lambda c: c.order)]
    return Summary(_overview(main, coverage), points)


def _point(c: Candidate) -> KeyPoint:
    return KeyPoint(text=c.text, message_ids=list(c.message_ids), item_id=c.item_id)


def candidates(answers: Sequence[Answer]) -> list[Candidate]:
    """The respondent's substantive sentences, once each (a sentence said again in another
    message cites both), in order, at most MAX_SENTENCES."""
    seen: dict[str, int] = {}
    out: list[Candidate] = []
    for answer in answers:
        for sentence in split(answer.text):
            text = _bounded(sentence.text)
            words = word_count(text)
            if words < MIN_KEY_POINT_WORDS:
                continue
            key = quotes.normalise(text).text
            if key in seen:
                known = out[seen[key]]
                if answer.message_id not in known.message_ids:
                    ids = (*known.message_ids, answer.message_id)
                    out[seen[key]] = Candidate(known.text, ids, known.item_id, known.order, words)
                continue
            if len(out) == MAX_SENTENCES:
                return out
            seen[key] = len(out)
            out.append(Candidate(text, (answer.message_id,), answer.item_id, len(out), words))
    return out


def _rank(found: list[Candidate]) -> list[Candidate]:
    """Most informative first: TextRank centrality (PageRank over the cosine similarity of
    the sentences' TF-IDF vectors) times log(1 + words), so substance beats a short echo;
    ties go to the earlier sentence."""
    if len(found) <= 1:
        return found
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=_NGRAMS, sublinear_tf=True)
    vectors = matrix.fit_transform([c.text for c in found])
    centrality = pagerank((vectors @ vectors.T).tocsr())

    def score(c: Candidate) -> float:
        return round(float(centrality[c.order]) * math.log1p(c.words), 12)

    return sorted(found, key=lambda c: (-score(c), c.order))


def pagerank(similarity: sparse.csr_matrix) -> npt.NDArray[np.float64]:
    """PageRank of the weighted graph whose adjacency is `similarity` (self-loops ignored),
    by power iteration as networkx's pagerank computes it (damping PAGERANK_DAMPING, a
    dangling node's weight spread evenly), on the sparse matrix itself: a session's few
    hundred sentences are a dense graph that networkx would build edge by edge."""
    n = similarity.shape[0]
    weights = sparse.csr_matrix(similarity, dtype=np.float64, copy=True)
    weights.setdiag(0)
    weights.eliminate_zeros()
    out = np.asarray(weights.sum(axis=1)).ravel()
    dangling = out == 0
    step = sparse.diags(np.divide(1.0, out, out=np.zeros(n), where=~dangling)) @ weights
    rank = np.full(n, 1.0 / n)
    for _ in range(PAGERANK_MAX_ITERATIONS):
        before = rank
        spread = rank[dangling].sum() / n
        rank = PAGERANK_DAMPING * (step.T @ rank + spread) + (1 - PAGERANK_DAMPING) / n
        if np.abs(rank - before).sum() < n * PAGERANK_TOLERANCE:
            break
    return rank


def _bounded(text: str) -> str:
    if len(text) <= MAX_KEY_POINT_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_KEY_POINT_CHARS)
    return text[: cut if cut > 0 else MAX_KEY_POINT_CHARS].rstrip()


def _verbatim(point: Candidate, answers: Sequence[Answer]) -> bool:
    """Found exactly in every message it cites (quote verification, runtime.analysis.quotes)."""
    texts = {a.message_id: a.text for a in answers}
    for message_id in point.message_ids:
        found = quotes.find(point.text, message_id, texts[message_id])
        if found is None or found.method != "exact":
            return False
    return True


def _overview(points: Sequence[KeyPoint], coverage: SessionCoverage) -> str:
    covered = round(coverage.share * coverage.total)
    head = f"Covered {covered} of {coverage.total} guide items."
    if not points:
        return f"{head} No substantive answer yet."
    said = " ".join(p.text if p.text[-1] in _ENDS else f"{p.text}." for p in points)
    return f"{head} Main points: {said}"
