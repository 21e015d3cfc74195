"""Saturation as the API shows it (the method: runtime.analysis.saturation, docs/synthesis.md)."""

from __future__ import annotations

from typing import Annotated

from runtime.analysis.saturation import Assessment, Recommendation, Trend
from runtime.platform.views import Meta, View


class SaturationPoint(View):
    """One session on the saturation curve, in the order sessions were started"""

    session_id: str
    index: Annotated[int, Meta(description="1-based place in start order", ge=1)]
    new_concepts: Annotated[int, Meta(description="Concepts no earlier session had", ge=0)]
    cumulative_concepts: Annotated[int, Meta(description="Concepts so far", ge=0)]
    new_information_ratio: Annotated[
        Annotated[float, Meta(ge=0)] | None,
        Meta(
            description="New concepts in the run of run_length sessions ending here / unique "
            "concepts in the base; null inside the base and before the first full run"
        ),
    ]


class Saturation(View):
    """Thematic saturation (Guest, Namey & Chen 2020) of an interview's completed sessions"""

    interview_id: str
    base_size: Annotated[int, Meta(description="Sessions in the base (paper: 4)", ge=1)]
    run_length: Annotated[int, Meta(description="Sessions per run (paper: 2)", ge=1)]
    threshold: Annotated[
        float,
        Meta(description="New-information threshold (paper: 0.05; 0 is strict)", ge=0, le=1),
    ]
    saturation_score: Annotated[
        float,
        Meta(description="1 - new_concept_rate, clamped to [0, 1]; 0 before a run", ge=0, le=1),
    ]
    new_concept_rate: Annotated[
        Annotated[float, Meta(ge=0)] | None,
        Meta(description="The latest run's new-information ratio; null before a full run"),
    ]
    unique_concepts: Annotated[int, Meta(description="Concepts across the sessions", ge=0)]
    base_concepts: Annotated[int, Meta(description="Unique concepts in the base", ge=0)]
    total_sessions: Annotated[int, Meta(description="Sessions assessed", ge=0)]
    recommendation: Annotated[
        Recommendation,
        Meta(
            description="saturated: the latest ratio <= threshold; nearly_saturated: <= "
            "max(2 x threshold, 0.05); else (or before a full run) continue"
        ),
    ]
    trend: Annotated[
        Trend,
        Meta(description="The new-information ratio over the last 3 runs: last vs first"),
    ]
    saturated_at: Annotated[
        Annotated[int, Meta(ge=1)] | None,
        Meta(
            description="The index of the last session of the first run at or under the "
            "threshold (where the paper stops); null if none is"
        ),
    ]
    curve: list[SaturationPoint]


def view(interview_id: str, found: Assessment) -> Saturation:
    return Saturation(
        interview_id=interview_id,
        base_size=found.params.base_size,
        run_length=found.params.run_length,
        threshold=found.params.threshold,
        saturation_score=found.saturation_score,
        new_concept_rate=found.new_concept_rate,
        unique_concepts=found.unique_concepts,
        base_concepts=found.base_concepts,
        total_sessions=found.total_sessions,
        recommendation=found.recommendation,
        trend=found.trend,
        saturated_at=found.saturated_at,
        curve=[
            SaturationPoint(
                session_id=p.session_id,
                index=p.index,
                new_concepts=p.new_concepts,
                cumulative_concepts=p.cumulative_concepts,
                new_information_ratio=p.new_information_ratio,
            )
            for p in found.curve
        ],
    )
