"""The query-string parameters the endpoints take (api.query says how one is declared)."""

from __future__ import annotations

from api.openapi.stream import RESUME_FROM
from api.query import Query, choice, flag, limit, text, timestamp
from runtime.exports import formats as export_formats
from runtime.exports import records as exports
from runtime.interviews import service as interviews
from runtime.sessions import ordering as session_order
from runtime.transcripts import document as transcripts
from runtime.vocabulary import SESSION_STATUSES
from runtime.webhooks import outbox

LIMIT: Query[int] = Query(
    "Limit",
    "limit",
    limit,
    lambda limits: {
        "type": "integer",
        "minimum": 1,
        "maximum": limits.maximum,
        "default": limits.default,
    },
    lambda limits: f"Page size, 1 to {limits.maximum}",
)
CLIENT_MESSAGE_ID = text(
    "ClientMessageId",
    "client_message_id",
    "Makes the request idempotent within the session (1 to 200 characters): sent again, "
    "nothing new is stored",
)
CURSOR = text("Cursor", "cursor", "next_cursor from the previous page")
INTERVIEW_STATUS = choice(
    "InterviewStatus", "status", interviews.STATUSES, "Only interviews with this status"
)
SESSION_STATUS = choice(
    "SessionStatus", "status", SESSION_STATUSES, "Only sessions with this status"
)
SESSION_SORT = choice(
    "SessionSort",
    "sort",
    session_order.SORTS,
    "created_desc: newest first; quality_desc / quality_asc: by quality_index (see GET "
    "/v1/sessions/{id}/summary), sessions not analysed yet last, newest first among equals. "
    "A cursor holds its sort: one from another sort is a 400",
    default="created_desc",
)
DELIVERY_STATUS = choice(
    "DeliveryStatus", "status", outbox.DELIVERY_STATUSES, "Only deliveries with this status"
)
EXPORT_STATUS = choice("ExportStatus", "status", exports.STATUSES, "Only exports with this status")
EXPORT_INTERVIEW = text("ExportInterview", "interview_id", "Only exports of this interview")
SINCE = timestamp(
    "Since",
    "since",
    "Only sessions created at or after this time (UTC when no offset is given; "
    "400 when that instant is outside the years 1 to 9999 in UTC)",
)
TRANSCRIPT_FORMAT = choice(
    "TranscriptFormat", "format", transcripts.FORMATS, "json, txt or md", default="json"
)
EXPORT_FORMAT = choice(
    "ExportFormat",
    "format",
    export_formats.FORMATS,
    "The transcripts' format (inside the ZIP too)",
    default="json",
)
JUDGE = flag("Judge", "judge", "true: add the configured LLM's report card (docs/synthesis.md)")
SYNTHESIS_FORMAT = choice(
    "SynthesisFormat",
    "format",
    ("json", "md", "pdf"),
    "json: the synthesis as data; md or pdf: its report as a document",
    default="json",
)
SYNTHESIS_COMPLETED = flag(
    "SynthesisCompleted", "completed", "true: the newest completed synthesis, not the newest run"
)
INCLUDE_AUDIO = flag(
    "IncludeAudio", "include_audio", "true: a ZIP with each session's recording under audio/"
)
INCLUDE_PDF = flag(
    "IncludePdf", "include_pdf", "true: a ZIP with each session's current PDF under pdf/"
)
INCLUDE_TEST = flag("IncludeTest", "include_test", "true: include preview (is_test) sessions")
BLOB_EXPIRES = text("BlobExpires", "expires", "Part of the signed link")
BLOB_SIGNATURE = text("BlobSignature", "sig", "Part of the signed link")
BLOB_FILENAME = text("BlobFilename", "filename", "Part of the signed link")
# Read by the stream's own credential check (api.credentials), declared here to be documented.
TICKET = text(
    "Ticket",
    "ticket",
    "Signed stream ticket (from events_url / ws_url or POST /v1/sessions/{id}/tickets)",
)
LAST_EVENT_ID = text(
    "LastEventIdQuery",
    "last_event_id",
    "Resume after this event id (default: from the start)",
    pattern=RESUME_FROM,
)
