"""Theme-set agreement as soak measures it: one-to-one (Hungarian) matching, then P, R, F1.

Each theme is a set of participants (session ids). Similarity is the Jaccard index of two
themes' participant sets (participants, not messages: prevalence is counted in
participants). Found and reference themes are matched one to one by
`scipy.optimize.linear_sum_assignment`, maximising total similarity; a pair counts as a
match when its similarity is at least MATCH_THRESHOLD. Precision is matches over found
themes, recall matches over reference themes, F1 their harmonic mean. The hit rate is the
share of reference themes that some found theme reaches the threshold with, one-to-one or
not (soak's hit rate: two found halves of one theme do not both count in recall, and hit
rate shows whether the theme was seen at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

MATCH_THRESHOLD = 0.5


@dataclass(frozen=True)
class Agreement:
    # (found index, reference index, similarity) of each match, by reference index.
    matches: tuple[tuple[int, int, float], ...]
    hit_rate: float
    precision: float
    recall: float
    f1: float


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def agreement(
    found: Sequence[frozenset[str]],
    reference: Sequence[frozenset[str]],
    threshold: float = MATCH_THRESHOLD,
) -> Agreement:
    if not found or not reference:
        return Agreement((), 0.0, 0.0, 0.0, 0.0)
    similarity = np.array([[jaccard(f, r) for r in reference] for f in found])
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    matches = tuple(
        sorted(
            ((int(f), int(r), float(similarity[f, r])) for f, r in zip(rows, cols, strict=True)
             if similarity[f, r] >= threshold),
            key=lambda m: m[1],
        )
    )  # fmt: skip
    hit_rate = float((similarity.max(axis=0) >= threshold).mean())
    precision = len(matches) / len(found)
    recall = len(matches) / len(reference)
    f1 = 2 * precision * recall / (precision + recall) if matches else 0.0
    return Agreement(matches, hit_rate, precision, recall, f1)
