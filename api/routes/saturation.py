"""Researcher endpoint for an interview's thematic saturation (Guest, Namey & Chen 2020)."""

from __future__ import annotations

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.query import integer, number
from api.responses import Json
from api.routes import params
from runtime.access import keys
from runtime.analysis import saturation
from runtime.analysis import saturation_reads as reads
from runtime.analysis.saturation_views import Saturation

BASE_SIZE = integer(
    "SaturationBaseSize",
    "base_size",
    f"Sessions in the base (default {saturation.BASE_SIZE}, the paper's)",
    saturation.BASE_SIZE_RANGE,
    saturation.BASE_SIZE,
)
RUN_LENGTH = integer(
    "SaturationRunLength",
    "run_length",
    f"Sessions per run (default {saturation.RUN_LENGTH}, the paper's)",
    saturation.RUN_LENGTH_RANGE,
    saturation.RUN_LENGTH,
)
THRESHOLD = number(
    "SaturationThreshold",
    "threshold",
    f"New-information threshold, 0 to 1 (default {saturation.THRESHOLD}, the paper's 5 %; "
    "0 is the strict criterion)",
    saturation.THRESHOLD_RANGE,
    saturation.THRESHOLD,
)

op = Group("synthesis", "researcher", keys.SESSIONS_READ)


@op(
    "GET /v1/interviews/{id}/saturation",
    "getInterviewSaturation",
    "Get an interview's thematic saturation",
    Reply(200, "The assessment and its curve, session by session", Saturation),
    errors={404: "No such interview in this workspace"},
    query=(BASE_SIZE, RUN_LENGTH, THRESHOLD, params.INCLUDE_TEST),
    description="Guest, Namey & Chen (2020), PLoS ONE 15(5): e0232076, over the "
    "interview's completed sessions in the order they were started, with its concepts as "
    "the codes: a run's new-information ratio is the concepts first seen in its run_length "
    "sessions over the unique concepts of the first base_size sessions; runs roll forward "
    "one session at a time; saturated_at is where the first run is at or under the "
    "threshold. recommendation, saturation_score and new_concept_rate read the latest run. "
    "See docs/synthesis.md.",
)
async def get(call: Call[None]) -> Response:
    found = await reads.for_interview(
        services_of(call.request).db,
        call.key.workspace_id,
        call.path["id"],
        saturation.Params(
            base_size=call.query(BASE_SIZE),
            run_length=call.query(RUN_LENGTH),
            threshold=call.query(THRESHOLD),
        ),
        include_test=call.query(params.INCLUDE_TEST),
    )
    return Json(found)


endpoints = op.endpoints
