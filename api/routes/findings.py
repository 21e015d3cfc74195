"""Researcher endpoints for findings (CRUD, bulk upsert, a theme promoted) and verified quotes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply, spec
from api.query import choice, text
from api.responses import Json, page
from api.routes import params
from api.validation import Described, Int, Num, Obj, ObjList, Str, StrList
from runtime.access import keys
from runtime.analysis.findings import bulk, listing, promote, service
from runtime.analysis.findings import limits as L
from runtime.analysis.findings.evidence import Evidence
from runtime.analysis.findings.views import BulkResult, Finding, QuoteEntry
from runtime.analysis.vocabulary import (
    FINDING_STATUSES,
    FINDING_TYPES,
    PRIORITIES,
    FindingStatus,
    FindingType,
    Priority,
)

_ID = Str(40, 1)
_EVIDENCE = Described(
    ObjList(
        L.EVIDENCE_MAX,
        Obj(
            {"session_id": _ID, "message_id": _ID, "quote": Str(L.QUOTE_MAX, 1)},
            required=("session_id", "message_id", "quote"),
        ),
    ),
    f"Up to {L.EVIDENCE_MAX} quotes, each the words of one respondent message of this "
    "interview (its session_id and message_id): kept only if found in it "
    '(docs/synthesis.md, "Quotes"), as the stored text at the offsets found',
)
_TYPE = Described(Str(20, enum=FINDING_TYPES), "theme, hypothesis, contradiction, pattern, insight")
_STATUS = Described(
    Str(20, enum=FINDING_STATUSES),
    "emerging (the default), developing, established, saturated, rejected",
)
_PRIORITY = Described(Str(20, enum=PRIORITIES), "low, medium (the default), high, critical")
_TITLE = Described(
    Str(L.TITLE_MAX, 1),
    "Findings of one type are one per title, compared normalised (case, whitespace, "
    "quotes and dashes, end punctuation)",
)
_CONFIDENCE = Described(Num(0, 1, nullable=True), "0 to 1; null: not assessed")
_PREVALENCE = Described(
    Int(0, L.PREVALENCE_MAX),
    "Participants it holds for; default: the distinct sessions of its evidence",
)
_TAGS = StrList(L.TAGS_MAX, Str(L.TAG_MAX, 1), nullable=False, unique=True)


class EvidenceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    session_id: str
    message_id: str
    quote: str


class FindingUpdate(Fields):
    """A finding's fields; PATCH changes only those given (evidence: all of it replaced)."""

    type: Annotated[FindingType | UnsetType, _TYPE] = UNSET
    title: Annotated[str | UnsetType, _TITLE] = UNSET
    description: Annotated[str | UnsetType, Str(L.DESCRIPTION_MAX)] = UNSET
    status: Annotated[FindingStatus | UnsetType, _STATUS] = UNSET
    priority: Annotated[Priority | UnsetType, _PRIORITY] = UNSET
    confidence: Annotated[float | UnsetType | None, _CONFIDENCE] = UNSET
    prevalence: Annotated[int | UnsetType, _PREVALENCE] = UNSET
    tags: Annotated[list[str] | UnsetType, _TAGS] = UNSET
    evidence: Annotated[list[EvidenceIn] | UnsetType, _EVIDENCE] = UNSET


class FindingCreate(FindingUpdate, kw_only=True):
    """A new finding: a type and a title, and any other field (the rest take defaults)."""

    type: Annotated[FindingType, _TYPE]
    title: Annotated[str, _TITLE]


class FindingsBulk(Fields):
    """Findings to create, or merge into the existing one of the same type and title."""

    findings: Annotated[
        list[FindingCreate],
        Described(
            ObjList(L.BULK_MAX, spec(FindingCreate).shape, min_items=1),
            f"1 to {L.BULK_MAX} findings; merge rules in docs/synthesis.md",
        ),
    ]


class ThemePromotion(Fields):
    """What the finding made from a theme is; all optional."""

    type: Annotated[FindingType | UnsetType, _TYPE] = UNSET
    status: Annotated[FindingStatus | UnsetType, _STATUS] = UNSET
    priority: Annotated[Priority | UnsetType, _PRIORITY] = UNSET


def _evidence(given: list[EvidenceIn]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e.session_id, e.message_id, e.quote) for e in given)


def _new(body: FindingCreate) -> service.NewFinding:
    fields = body.given()
    tags = fields.get("tags")
    return service.NewFinding(
        type=body.type,
        title=body.title,
        description=fields.get("description"),
        status=fields.get("status"),
        priority=fields.get("priority"),
        confidence=fields.get("confidence"),
        prevalence=fields.get("prevalence"),
        tags=tuple(tags) if tags is not None else None,
        evidence=_evidence(fields.get("evidence", [])),
    )


FINDING_TYPE = choice("FindingTypeFilter", "type", FINDING_TYPES, "Only findings of this type")
FINDING_STATUS = choice(
    "FindingStatusFilter", "status", FINDING_STATUSES, "Only findings with this status"
)
FINDING_PRIORITY = choice(
    "FindingPriorityFilter", "priority", PRIORITIES, "Only findings with this priority"
)
QUOTE_FINDING = text("QuoteFinding", "finding_id", "Only the evidence of this finding")
QUOTE_SESSION = text("QuoteSession", "session_id", "Only quotes of this session")
QUOTE_THEME = text(
    "QuoteTheme",
    "theme_id",
    'Only quotes of this theme ("th_N") or divergent view side ("dv_N/S"), of the latest '
    "completed synthesis unless synthesis_id is given",
)
QUOTE_SYNTHESIS = text("QuoteSynthesis", "synthesis_id", "Only quotes of this synthesis")

_404 = {404: "No such interview in this workspace"}
_404_FINDING = {404: "No such interview in this workspace, or no such finding in it"}
# Findings are read from and written about sessions: they take the sessions scopes.
op = Group("sessions", "researcher", keys.SESSIONS_WRITE)


@op(
    "POST /v1/interviews/{id}/findings",
    "createFinding",
    "Create a finding",
    Reply(201, "The new finding, with its verified evidence", Finding),
    body=FindingCreate,
    errors={**_404, 409: "A finding of this type and (normalised) title exists already"},
    description="Every evidence quote must be found in the respondent message it names, "
    "a message of a session of this interview; one that is not is refused (400, field "
    "`evidence[N].quote`, or `evidence[N].message_id` for a message that is not one). "
    "To merge into an existing finding, use POST …/findings/bulk.",
)
async def create(call: Call[FindingCreate]) -> Response:
    new = _new(await call.body())
    db = services_of(call.request).db
    view = await service.create(db, call.key.workspace_id, call.path["id"], new)
    return Json(view, status_code=201)


@op(
    "GET /v1/interviews/{id}/findings",
    "listFindings",
    "List an interview's findings, newest first",
    Reply(200, "One page of findings, each with its evidence", ListOf(Finding)),
    errors=_404,
    query=(params.LIMIT, params.CURSOR, FINDING_TYPE, FINDING_STATUS, FINDING_PRIORITY),
    scope=keys.SESSIONS_READ,
)
async def list_(call: Call[None]) -> Response:
    found = await service.list_page(
        services_of(call.request).db,
        call.key.workspace_id,
        call.path["id"],
        type=call.query(FINDING_TYPE),
        status=call.query(FINDING_STATUS),
        priority=call.query(FINDING_PRIORITY),
        cursor=call.query(params.CURSOR),
        limit=call.query(params.LIMIT),
    )
    return page(found)


@op(
    "GET /v1/interviews/{id}/findings/{finding_id}",
    "getFinding",
    "Get a finding",
    Reply(200, "The finding, with its evidence", Finding),
    errors=_404_FINDING,
    scope=keys.SESSIONS_READ,
)
async def get(call: Call[None]) -> Response:
    db = services_of(call.request).db
    path = call.path
    return Json(await service.get(db, call.key.workspace_id, path["id"], path["finding_id"]))


@op(
    "PATCH /v1/interviews/{id}/findings/{finding_id}",
    "updateFinding",
    "Update a finding (only the fields given)",
    Reply(200, "The updated finding", Finding),
    body=FindingUpdate,
    errors={**_404_FINDING, 409: "Another finding has this type and (normalised) title"},
    description="`evidence`, when given, replaces the finding's evidence (verified as on "
    "create) and, unless `prevalence` is given too, makes prevalence its distinct sessions.",
)
async def update(call: Call[FindingUpdate]) -> Response:
    fields = (await call.body()).given()
    if "evidence" in fields:
        fields["evidence"] = _evidence(fields["evidence"])
    path = call.path
    view = await service.update_fields(
        services_of(call.request).db, call.key.workspace_id, path["id"], path["finding_id"], fields
    )
    return Json(view)


@op(
    "DELETE /v1/interviews/{id}/findings/{finding_id}",
    "deleteFinding",
    "Delete a finding and its evidence",
    Reply(204, "Deleted"),
    errors=_404_FINDING,
)
async def delete(call: Call[None]) -> Response:
    path = call.path
    db = services_of(call.request).db
    await service.delete_one(db, call.key.workspace_id, path["id"], path["finding_id"])
    return Response(status_code=204)


@op(
    "POST /v1/interviews/{id}/findings/bulk",
    "upsertFindings",
    "Create or merge findings by type and normalised title",
    Reply(200, "Each item's finding, in order, and the quotes dropped", BulkResult),
    body=FindingsBulk,
    errors=_404,
    description=f"Up to {L.BULK_MAX} findings. One whose type and normalised title exist is "
    "merged into the existing finding: its evidence added (a span held already is not "
    "repeated), prevalence incremented by the item's prevalence, or else by the sessions "
    "of its evidence new to the finding; description, status, priority and confidence "
    "replaced when given; tags added. An evidence quote that is not found in the message "
    "it names is dropped and counted in quotes_dropped, not refused. Two upserts of the "
    "same new finding at once make one finding. See docs/synthesis.md.",
)
async def upsert(call: Call[FindingsBulk]) -> Response:
    items = [_new(item) for item in (await call.body()).findings]
    db = services_of(call.request).db
    return Json(await bulk.upsert_many(db, call.key.workspace_id, call.path["id"], items))


@op(
    "POST /v1/interviews/{id}/synthesis/themes/{theme_id}/promote",
    "promoteTheme",
    "Promote a theme of the latest synthesis to a finding",
    Reply(201, "A new finding made from the theme", Finding),
    Reply(200, "The theme merged into the finding of the same type and title", Finding),
    body=ThemePromotion,
    body_required=False,
    errors={
        404: "No such interview in this workspace, or no such theme in its latest "
        "completed synthesis"
    },
    description="The finding takes the theme's title, description and prevalence, and a "
    "copy of its quotes as evidence; its source names the synthesis and the theme. "
    "Promoting it again merges (the bulk rules; the finding's description stays).",
)
async def promote_theme(call: Call[ThemePromotion]) -> Response:
    fields = (await call.body()).given()
    path = call.path
    done = await promote.promote(
        services_of(call.request).db,
        call.key.workspace_id,
        path["id"],
        path["theme_id"],
        type=fields.get("type", "theme"),
        status=fields.get("status"),
        priority=fields.get("priority"),
    )
    return Json(done.finding, status_code=201 if done.created else 200)


@op(
    "GET /v1/interviews/{id}/quotes",
    "listQuotes",
    "List an interview's verified quotes, newest first",
    Reply(200, "One page of quotes", ListOf(QuoteEntry)),
    errors=_404,
    query=(
        params.LIMIT,
        params.CURSOR,
        QUOTE_FINDING,
        QUOTE_SESSION,
        QUOTE_THEME,
        QUOTE_SYNTHESIS,
    ),
    scope=keys.SESSIONS_READ,
    description="Findings' evidence and synthesis themes' quotes; the filters given all "
    "apply. Every quote is the stored text of a respondent message at its offsets.",
)
async def quotes(call: Call[None]) -> Response:
    found = await listing.list_page(
        services_of(call.request).db,
        call.key.workspace_id,
        call.path["id"],
        finding_id=call.query(QUOTE_FINDING),
        session_id=call.query(QUOTE_SESSION),
        theme_id=call.query(QUOTE_THEME),
        synthesis_id=call.query(QUOTE_SYNTHESIS),
        cursor=call.query(params.CURSOR),
        limit=call.query(params.LIMIT),
    )
    return page(found)


endpoints = op.endpoints
