"""The SQL tables: workspaces, keys, interviews, guides, sessions, messages, webhooks, exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(24), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", Json, nullable=False),
    # The rate-limit plan, a name from the deployment's RAPPORT_RATE_LIMIT_PLANS.
    Column("plan", String(40), nullable=False, server_default="default"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

interviews = Table(
    "interviews",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("goal", Text, nullable=False, default=""),
    Column("context", Text, nullable=False, default=""),
    Column("tone", String(200), nullable=False, default=""),
    Column("language", String(35), nullable=False, default="en"),
    Column("welcome_message", Text, nullable=False, default=""),
    Column("closing_message", Text, nullable=False, default=""),
    Column("engine", String(20), nullable=False, default="scripted"),
    Column("settings", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("share_token", String(64), nullable=False, unique=True),
    # The guide being edited; frozen copies live in guide_versions.
    Column("guide", Json, nullable=False),
    Column("guide_rev", Integer, nullable=False, default=0),
    Column("guide_version", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Finished sessions are erased this many days after they ended; null keeps them.
    Column("retention_days", Integer, nullable=True),
    # Voice mode (docs/voice.md, "Interview settings"): how respondents may take part, and
    # how the interviewer speaks and listens.
    Column("modes", Json, nullable=False, server_default='["text"]'),
    Column("voice", String(100), nullable=True),
    Column("speaking_rate", Float, nullable=False, server_default="1.0"),
    Column("eagerness", String(20), nullable=False, server_default="normal"),
    # Seconds of the respondent's silence before a re-prompt; null: never.
    Column("idle_reprompt_seconds", Integer, nullable=True, server_default="15"),
    Column("record_session", Boolean, nullable=False, server_default=false()),
    Index("ix_interviews_workspace_created", "workspace_id", "created_at", "id"),
)

guide_versions = Table(
    "guide_versions",
    metadata,
    Column("interview_id", String(40), ForeignKey("interviews.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("guide", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("guide_version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("respondent_name", String(200), nullable=True),
    Column("respondent_email", String(320), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("is_test", Boolean, nullable=False, default=False),
    # The engine's position in the guide; committed together with each completed turn.
    Column("state", Json, nullable=False),
    Column("turn_seq", Integer, nullable=False, default=0),
    Column("awaiting", String(20), nullable=False),
    # How often turn `turn_seq` was recovered from SQL alone (Redis had lost track of it):
    # bounds its retries when Redis cannot count them. Reset by the message that owes a turn.
    Column("turn_recoveries", Integer, nullable=False, default=0, server_default="0"),
    Column("ended_reason", String(40), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_activity_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    # A researcher writing the interviewer's turns (POST /v1/sessions/{id}/takeover): the
    # API key that took over, and when; null while the AI interviews.
    Column("taken_over_by", String(40), nullable=True),
    Column("taken_over_at", UTCDateTime(), nullable=True),
    Index("ix_sessions_interview_created", "interview_id", "created_at", "id"),
    Index("ix_sessions_interview_status", "interview_id", "status"),
    # The sweeper's scans: idle sessions awaiting the respondent, owed turns awaiting the
    # interviewer, both by how long they have waited.
    Index("ix_sessions_status_awaiting_activity", "status", "awaiting", "last_activity_at"),
)


def real_sessions(include_test: bool = False) -> ColumnElement[bool]:
    """The sessions that count (stats, listings, exports): test (preview) sessions are left
    out unless asked for."""
    return true() if include_test else sessions.c.is_test.is_(False)


messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("session_id", String(40), ForeignKey("sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("item_id", String(20), nullable=True),
    Column("turn_id", String(40), nullable=True),
    Column("client_message_id", String(200), nullable=True),
    Column("metadata", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Who wrote an interviewer turn: ai, or researcher (a takeover); null for the respondent's.
    Column("author", String(20), nullable=True),
    UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
    UniqueConstraint("session_id", "client_message_id", name="uq_messages_session_client_id"),
    UniqueConstraint("session_id", "turn_id", name="uq_messages_session_turn"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", String(500), nullable=False, default=""),
    Column("events", Json, nullable=False),
    Column("enabled", Boolean, nullable=False),
    # The signing secret is derived from the deployment secret and this salt, never stored.
    Column("secret_salt", String(64), nullable=False),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("disabled_reason", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_webhooks_workspace_created", "workspace_id", "created_at", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    # The Standard Webhooks message id: the same for every attempt and every redelivery.
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_latency_ms", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    # One entry per attempt: attempt, at, status_code, latency_ms, error.
    Column("log", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The session a session.* event is about, so erasing it finds its deliveries.
    Column("session_id", String(40), nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
    Index("ix_webhook_deliveries_session", "session_id"),
)

# Files attached to a session: its audio recording and its rendered PDF (one of each).
artifacts = Table(
    "artifacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("session_id", String(40), ForeignKey("sessions.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("blob_key", String(500), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=True),
    # PDFs: the transcript fingerprint the file was rendered from.
    Column("fingerprint", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("session_id", "kind", name="uq_artifacts_session_kind"),
)

exports = Table(
    "exports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=True),
    Column("options", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("sessions_total", Integer, nullable=True),
    Column("sessions_done", Integer, nullable=False, default=0),
    Column("audio_files", Integer, nullable=False, default=0),
    Column("audio_missing", Integer, nullable=False, default=0),
    Column("blob_key", String(500), nullable=True),
    Column("size_bytes", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Index("ix_exports_workspace_created", "workspace_id", "created_at", "id"),
)

# Which sessions an export job wrote (or is writing) into its ZIP: a ZIP cannot be edited,
# so erasing a session lists the exports that hold it. No foreign key to sessions: the row
# goes with the session's erasure, after it was read.
export_sessions = Table(
    "export_sessions",
    metadata,
    Column(
        "export_id",
        String(40),
        ForeignKey("exports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("session_id", String(40), primary_key=True),
    Index("ix_export_sessions_session", "session_id"),
)

# Erasures whose SQL part is committed and whose Redis keys and blobs may not all be gone
# yet (the process died in between): the sweeper finishes them. Ids and keys only.
erasures = Table(
    "erasures",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("plan", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Synthesis (docs/synthesis.md): one row per run over an interview's sessions; the latest
# completed one is what GET /v1/interviews/{id}/synthesis shows.
syntheses = Table(
    "syntheses",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("engine", String(20), nullable=False),
    # What was asked for: statuses, since, include_test.
    Column("filters", Json, nullable=False),
    Column("session_count", Integer, nullable=True),
    # The report: summary, themes with their verified quotes, divergent views, counts.
    Column("result", Json, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("generated_at", UTCDateTime(), nullable=True),
    Index("ix_syntheses_interview_created", "interview_id", "created_at", "id"),
)

# What the analysis read out of one session (its sentences, concepts, entities, summary and
# quality), keyed by the transcript's fingerprint so an unchanged session is not read again:
# this is what makes a re-run incremental. Erased with the session.
session_analyses = Table(
    "session_analyses",
    metadata,
    Column("session_id", String(40), ForeignKey("sessions.id"), primary_key=True),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    # The analysis code's version: a change to it reads every session again.
    Column("version", String(20), nullable=False),
    Column("data", Json, nullable=False),
    # The deterministic quality index the sessions list sorts by (?sort=quality_desc).
    Column("quality_index", Float, nullable=True),
    # The LLM judge's block, kept apart from the deterministic numbers; null until asked.
    Column("judged", Json, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_session_analyses_interview_quality", "interview_id", "quality_index"),
)

# The synthesis engine's reading of one session (its sentences with their terms and
# sentiment), kept by transcript fingerprint so a re-run reads only new or changed sessions.
session_readings = Table(
    "session_readings",
    metadata,
    Column("session_id", String(40), ForeignKey("sessions.id"), primary_key=True),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("version", String(20), nullable=False),
    Column("data", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_session_readings_interview", "interview_id"),
)

# An interview's knowledge graph: concept and entity nodes, co-occurrence edges, and the
# PageRank scores and Louvain communities of the last analysis.
interview_graphs = Table(
    "interview_graphs",
    metadata,
    Column("interview_id", String(40), ForeignKey("interviews.id"), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("synthesis_id", String(40), nullable=True),
    Column("nodes", Json, nullable=False),
    Column("edges", Json, nullable=False),
    # The seed and resolution of the analysis, so the same input gives the same output.
    Column("params", Json, nullable=False),
    Column("session_count", Integer, nullable=False, default=0),
    Column("built_at", UTCDateTime(), nullable=False),
    Column("analyzed_at", UTCDateTime(), nullable=True),
)

# Findings: what researchers (or synthesis, promoted) hold to be true of an interview's
# sessions. One per normalised title and type, so a bulk upsert merges instead of repeating.
findings = Table(
    "findings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("title_key", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(20), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("confidence", Float, nullable=True),
    Column("prevalence", Integer, nullable=False, default=0),
    Column("tags", Json, nullable=False),
    # Where it came from: a researcher, a bulk upsert, or a synthesis theme it was promoted from.
    Column("source", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("interview_id", "type", "title_key", name="uq_findings_interview_type_title"),
    Index("ix_findings_interview_created", "interview_id", "created_at", "id"),
)

# Verified quotes: a span of one stored respondent message, with its character offsets. A
# quote belongs to a finding (evidence) or to a theme of a synthesis, or both.
quotes = Table(
    "quotes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("session_id", String(40), ForeignKey("sessions.id"), nullable=False),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("finding_id", String(40), ForeignKey("findings.id", ondelete="CASCADE"), nullable=True),
    Column(
        "synthesis_id",
        String(40),
        ForeignKey("syntheses.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("theme_id", String(40), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_quotes_interview_created", "interview_id", "created_at", "id"),
    Index("ix_quotes_finding", "finding_id"),
    Index("ix_quotes_synthesis_theme", "synthesis_id", "theme_id"),
    Index("ix_quotes_session", "session_id"),
)

# A researcher's instructions to the interviewer of a live session, durable until applied: the
# turn runner reads the queued ones (in `seq` order) into the next turn it writes and marks
# them applied in that turn's commit, so neither a crash nor a barge-in loses one.
steering_instructions = Table(
    "steering_instructions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("session_id", String(40), ForeignKey("sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("instruction", Text, nullable=False),
    Column("mode", String(20), nullable=False),  # next_turn | now
    Column("status", String(20), nullable=False),  # queued | applied
    Column("created_by", String(40), nullable=True),  # the API key that sent it
    Column("created_at", UTCDateTime(), nullable=False),
    Column("applied_at", UTCDateTime(), nullable=True),
    Column("applied_turn_id", String(40), nullable=True),
    UniqueConstraint("session_id", "seq", name="uq_steering_instructions_session_seq"),
    Index("ix_steering_instructions_session_status", "session_id", "status", "seq"),
)

# Researchers' notes and bookmarks on a session, or on one of its messages.
session_notes = Table(
    "session_notes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("interview_id", String(40), ForeignKey("interviews.id"), nullable=False),
    Column("session_id", String(40), ForeignKey("sessions.id"), nullable=False),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=True),
    Column("kind", String(20), nullable=False),  # note | bookmark
    Column("body", Text, nullable=False),
    Column("created_by", String(40), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_session_notes_session_created", "session_id", "created_at", "id"),
    Index("ix_session_notes_interview_created", "interview_id", "created_at", "id"),
)
