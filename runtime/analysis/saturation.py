"""Thematic saturation as Guest, Namey & Chen (2020) assess it, over an interview's sessions.

Guest G, Namey E, Chen M (2020), "A simple method to assess and report thematic
saturation in qualitative research", PLoS ONE 15(5): e0232076. Three parameters:

- the **base size**: the first interviews, whose unique codes are the base (they
  recommend 4);
- the **run length**: the interviews after them looked at together (they recommend 2);
- the **new-information threshold**: saturation is reached when a run brings at most this
  share of new codes, relative to the base (≤ 5 %; 0 % for a strict criterion).

The ratio of a run = codes first seen in the run / unique codes in the base. Runs roll
forward one interview at a time (interviews 5-6, then 6-7, …, with base 4 and run 2); the
first run whose ratio is at most the threshold is where saturation is reached, reported as
the number of that run's last interview (the paper's "saturation at base + run").

Here codes are the interview's concepts that count (runtime.analysis.concepts, at least
MIN_SESSIONS sessions), and interviews are its sessions in the order they were started.
What this adds to the paper, for a live recommendation:

- `new_concept_rate`: the latest run's ratio (the run ending at the last session);
  `saturation_score` = 1 - that ratio, clamped to [0, 1]; with an empty base a run with
  new codes has ratio 1 (all of it is new) and one without has 0;
- `recommendation`: `saturated` when the latest ratio is at most the threshold,
  `nearly_saturated` when it is at most NEARLY_FACTOR x the threshold (at least
  NEARLY_FLOOR, so that a strict 0 % has a "nearly" too), else `continue` — and `continue`
  while there are fewer sessions than base + run;
- `trend` over the last TREND_RUNS runs' ratios: `falling` when the last is below the
  first, `rising` when above, `flat` otherwise (or with fewer than two runs).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

BASE_SIZE = 4
RUN_LENGTH = 2
THRESHOLD = 0.05
# What a request may set (GET …/saturation's query).
BASE_SIZE_RANGE = (1, 100)
RUN_LENGTH_RANGE = (1, 50)
THRESHOLD_RANGE = (0.0, 1.0)
NEARLY_FACTOR = 2.0
NEARLY_FLOOR = 0.05
TREND_RUNS = 3
DECIMALS = 6

Recommendation = Literal["continue", "nearly_saturated", "saturated"]
RECOMMENDATIONS: tuple[Recommendation, ...] = get_args(Recommendation)
Trend = Literal["rising", "flat", "falling"]


@dataclass(frozen=True)
class Params:
    base_size: int = BASE_SIZE
    run_length: int = RUN_LENGTH
    threshold: float = THRESHOLD


@dataclass(frozen=True)
class Point:
    """One session on the curve."""

    session_id: str
    index: int  # 1-based, in start order
    new_concepts: int  # codes no earlier session had
    cumulative_concepts: int
    # The ratio of the run ending at this session; None inside the base, and before the
    # first run is complete.
    new_information_ratio: float | None


@dataclass(frozen=True)
class Assessment:
    params: Params
    curve: tuple[Point, ...]
    unique_concepts: int
    base_concepts: int
    new_concept_rate: float | None
    saturation_score: float
    recommendation: Recommendation
    trend: Trend
    saturated_at: int | None

    @property
    def total_sessions(self) -> int:
        return len(self.curve)


def ratio(new: int, base: int) -> float:
    if base == 0:
        return 1.0 if new else 0.0
    return round(new / base, DECIMALS)


def assess(sessions: Iterable[tuple[str, frozenset[str]]], params: Params = Params()) -> Assessment:
    """The assessment of (session id, its codes) in start order; the input is read once and
    only the last run's codes are held beside the set of codes seen."""
    seen: set[str] = set()
    base = 0
    recent: deque[int] = deque(maxlen=params.run_length)  # new codes of the last sessions
    curve: list[Point] = []
    ratios: list[float] = []
    saturated_at: int | None = None
    for index, (session_id, codes) in enumerate(sessions, 1):
        new = len(codes - seen)
        seen |= codes
        recent.append(new)
        if index == params.base_size:
            base = len(seen)
        value: float | None = None
        if index >= params.base_size + params.run_length:
            # Codes first seen in the run = the sum of each of its sessions' new codes.
            value = ratio(sum(recent), base)
            ratios.append(value)
            if saturated_at is None and value <= params.threshold:
                saturated_at = index
        curve.append(Point(session_id, index, new, len(seen), value))
    latest = ratios[-1] if ratios else None
    return Assessment(
        params=params,
        curve=tuple(curve),
        unique_concepts=len(seen),
        base_concepts=base,
        new_concept_rate=latest,
        saturation_score=0.0 if latest is None else round(1.0 - min(1.0, latest), DECIMALS),
        recommendation=recommendation(latest, params.threshold),
        trend=trend(ratios),
        saturated_at=saturated_at,
    )


def recommendation(latest: float | None, threshold: float) -> Recommendation:
    if latest is None:
        return "continue"
    if latest <= threshold:
        return "saturated"
    if latest <= max(NEARLY_FACTOR * threshold, NEARLY_FLOOR):
        return "nearly_saturated"
    return "continue"


def trend(ratios: list[float]) -> Trend:
    last = ratios[-TREND_RUNS:]
    if len(last) < 2 or last[-1] == last[0]:
        return "flat"
    return "falling" if last[-1] < last[0] else "rising"
