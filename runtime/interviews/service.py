"""Interviews: their settings, lifecycle and versioned study guide, always inside one workspace."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.interviews import guide as guides
from runtime.interviews import voice

# The views and their words, re-exported: callers know them as interviews.X.
from runtime.interviews.views import ENGINES as ENGINES
from runtime.interviews.views import MAX_PARTICIPANTS_NEEDED as MAX_PARTICIPANTS_NEEDED
from runtime.interviews.views import STATUSES as STATUSES
from runtime.interviews.views import CloseReason as CloseReason
from runtime.interviews.views import Interview as Interview
from runtime.interviews.views import InterviewStatus as InterviewStatus
from runtime.interviews.views import PublicInterview as PublicInterview
from runtime.interviews.views import SessionCounts
from runtime.languages.tags import direction
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound
from runtime.platform.ids import new_id
from runtime.stores import schema
from runtime.stores.database import Database, upsert
from runtime.stores.pagination import Page, fetch_page
from runtime.stores.schema import real_sessions
from runtime.vocabulary import SESSION_STATUSES
from runtime.webhooks import outbox

# Fields a researcher sets directly; settings-backed ones live in the `settings` JSON column.
COLUMN_FIELDS = (
    "title",
    "goal",
    "context",
    "tone",
    "language",
    "welcome_message",
    "closing_message",
    "engine",
    "retention_days",
    *voice.FIELDS,
)
# What a closed interview still lets a researcher change.
CLOSED_EDITABLE = ("retention_days",)
SETTING_FIELDS = (
    "max_duration_minutes",
    "max_turns",
    "anonymous",
    "model",
    "temperature",
    # Closing by itself (runtime.analysis.autoclose).
    "participants_needed",
    "close_when_saturated",
)

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[InterviewStatus, ...], InterviewStatus]] = {
    "publish": (("draft",), "active"),
    "pause": (("active",), "paused"),
    "resume": (("paused",), "active"),
    "close": (("active", "paused"), "closed"),
}

t = schema.interviews


def _new_share_token() -> str:
    return secrets.token_urlsafe(12)


def to_view(row: Mapping[Any, Any], counts: Mapping[str, int]) -> Interview:
    settings = row["settings"] or {}
    spoken = voice.settings_of(row)
    return Interview(
        **{name: row[name] for name in ("id", *COLUMN_FIELDS) if name not in voice.FIELDS},
        modes=list(spoken.modes),
        voice=spoken.voice,
        speaking_rate=spoken.speaking_rate,
        eagerness=spoken.eagerness,
        idle_reprompt_seconds=spoken.idle_reprompt_seconds,
        record_session=spoken.record_session,
        max_duration_minutes=settings.get("max_duration_minutes"),
        max_turns=settings.get("max_turns"),
        anonymous=bool(settings.get("anonymous", False)),
        model=settings.get("model"),
        temperature=settings.get("temperature"),
        participants_needed=settings.get("participants_needed"),
        close_when_saturated=bool(settings.get("close_when_saturated", False)),
        status=row["status"],
        share_token=row["share_token"],
        guide_version=row["guide_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        # One count per session status (a status without its field fails here, loudly).
        session_counts=SessionCounts(
            total=sum(counts.values()),
            **{status: counts.get(status, 0) for status in SESSION_STATUSES},
        ),
    )


def public_view(row: Mapping[Any, Any]) -> PublicInterview:
    """The interview as a respondent sees it before starting."""
    return PublicInterview(
        title=row["title"],
        language=row["language"],
        direction=direction(row["language"]),
        status=row["status"],
        accepting_sessions=row["status"] == "active",
        anonymous=bool((row["settings"] or {}).get("anonymous")),
        modes=list(voice.modes_of(row)),
        eagerness=voice.settings_of(row).eagerness,
    )


def _split(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    columns = {k: v for k, v in fields.items() if k in COLUMN_FIELDS}
    settings = {k: v for k, v in fields.items() if k in SETTING_FIELDS}
    return columns, settings


async def create(
    db: Database,
    workspace_id: str,
    fields: Mapping[str, Any],
    guide: guides.StoredGuide | None = None,
) -> Interview:
    columns, settings = _split(fields)
    now = utcnow()
    values = {
        "goal": "",
        "context": "",
        "tone": "",
        "language": "en",
        "welcome_message": "",
        "closing_message": "",
        "engine": "scripted",
        "retention_days": None,
        **voice.DEFAULTS,
        **columns,
        "id": new_id("int"),
        "workspace_id": workspace_id,
        "settings": settings,
        "status": "draft",
        "share_token": _new_share_token(),
        "guide": guides.to_json(guide if guide is not None else guides.empty_guide()),
        "guide_rev": 0,
        "guide_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    async with db.begin() as conn:
        await conn.execute(insert(t).values(**values))
    return to_view(values, {})


async def owned_row(
    conn: AsyncConnection, workspace_id: str, interview_id: str, for_update: bool = False
) -> Row[Any]:
    query = select(t).where(t.c.id == interview_id, t.c.workspace_id == workspace_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound(f"no interview {interview_id}")
    return row


async def session_counts(conn: AsyncConnection, ids: list[str]) -> dict[str, dict[str, int]]:
    s = schema.sessions
    counts: dict[str, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return counts
    rows = await conn.execute(
        select(s.c.interview_id, s.c.status, func.count())
        .where(s.c.interview_id.in_(ids), real_sessions())
        .group_by(s.c.interview_id, s.c.status)
    )
    for interview_id, status, count in rows:
        counts[interview_id][status] = int(count)
    return counts


async def _view(conn: AsyncConnection, workspace_id: str, interview_id: str) -> Interview:
    """The interview as the API shows it, with its session counts."""
    row = await owned_row(conn, workspace_id, interview_id)
    counts = await session_counts(conn, [interview_id])
    return to_view(row._mapping, counts[interview_id])


async def get(db: Database, workspace_id: str, interview_id: str) -> Interview:
    async with db.connect() as conn:
        return await _view(conn, workspace_id, interview_id)


async def list_page(
    db: Database,
    workspace_id: str,
    *,
    status: InterviewStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[Interview]:
    query = select(t).where(t.c.workspace_id == workspace_id)
    if status:
        query = query.where(t.c.status == status)
    async with db.connect() as conn:
        rows = await fetch_page(conn, query, t, cursor, limit)
        counts = await session_counts(conn, [r["id"] for r in rows.items])
    return rows.map(lambda r: to_view(r, counts[r["id"]]))


async def update_fields(
    db: Database, workspace_id: str, interview_id: str, fields: Mapping[str, Any]
) -> Interview:
    columns, settings = _split(fields)
    async with db.begin() as conn:
        row = await owned_row(conn, workspace_id, interview_id)
        if row.status == "closed" and set(fields) - set(CLOSED_EDITABLE):
            raise Conflict("a closed interview cannot be edited, except its retention_days")
        values: dict[str, Any] = {**columns, "updated_at": utcnow()}
        if settings:
            values["settings"] = {**(row.settings or {}), **settings}
        await conn.execute(update(t).where(t.c.id == interview_id).values(**values))
        return await _view(conn, workspace_id, interview_id)


async def delete(db: Database, workspace_id: str, interview_id: str) -> None:
    """Delete a draft, with the preview sessions and guide versions tried on it."""
    async with db.begin() as conn:
        # Locked (PostgreSQL; SQLite's writer lock already serializes) so that it cannot be
        # published, and start taking real sessions, while its previews are removed.
        row = await owned_row(conn, workspace_id, interview_id, for_update=True)
        if row.status != "draft":
            raise Conflict(f"only a draft can be deleted; this interview is {row.status}")
        # A draft has never been published, so its sessions are all previews (is_test).
        s = schema.sessions
        ids = select(s.c.id).where(s.c.interview_id == interview_id)
        # What an analysis kept of it (quotes first: they point at findings, syntheses and
        # messages), named by table: the analysis package builds on this one.
        for table in (
            schema.quotes,
            schema.findings,
            schema.syntheses,
            schema.session_analyses,
            schema.session_readings,
            schema.interview_graphs,
        ):
            await conn.execute(table.delete().where(table.c.interview_id == interview_id))
        for table in (
            schema.session_notes,
            schema.steering_instructions,
            schema.messages,
            schema.artifacts,
        ):
            await conn.execute(table.delete().where(table.c.session_id.in_(ids)))
        await conn.execute(s.delete().where(s.c.interview_id == interview_id))
        gv = schema.guide_versions
        await conn.execute(gv.delete().where(gv.c.interview_id == interview_id))
        await conn.execute(t.delete().where(t.c.id == interview_id))


async def duplicate(db: Database, workspace_id: str, interview_id: str) -> Interview:
    async with db.connect() as conn:
        row = (await owned_row(conn, workspace_id, interview_id))._mapping
    fields = {name: row[name] for name in COLUMN_FIELDS}
    fields["title"] = (row["title"] + " (copy)")[:200]
    fields.update({k: v for k, v in (row["settings"] or {}).items() if k in SETTING_FIELDS})
    return await create(db, workspace_id, fields, guide=guides.stored(row["guide"]))


async def transition(
    db: Database,
    workspace_id: str,
    interview_id: str,
    action: str,
    reason: CloseReason = "manual",
) -> Interview:
    """Move the interview along its lifecycle; `reason` says why a close happened (the
    interview.closed webhook carries it)."""
    sources, target = TRANSITIONS[action]
    async with db.begin() as conn:
        # Locked (SQLite's writer lock already serializes): concurrent publishes of one
        # draft queue here, and each after the first finds it active (409), instead of all
        # reading the draft and all but one failing on guide_versions' key.
        row = await owned_row(conn, workspace_id, interview_id, for_update=True)
        if row.status not in sources:
            raise Conflict(f"cannot {action} an interview that is {row.status}")
        values: dict[str, Any] = {"status": target, "updated_at": utcnow()}
        if action == "publish":
            if not guides.items_in_order(guides.stored(row.guide)):
                raise Conflict("the study guide has no questions yet; add one before publishing")
            values["guide_version"] = row.guide_version + 1
            # An edit that read the draft before this commits must retry (edit_guide checks
            # guide_rev) and freeze its guide as the next version, not change this one's.
            values["guide_rev"] = row.guide_rev + 1
            await _freeze(conn, interview_id, values["guide_version"], row.guide)
        # The status condition makes a concurrent transition lose cleanly instead of both winning.
        result = await conn.execute(
            update(t).where(t.c.id == interview_id, t.c.status == row.status).values(**values)
        )
        if result.rowcount != 1:
            raise Conflict(f"the interview changed while trying to {action} it; try again")
        view = await _view(conn, workspace_id, interview_id)
        if action in ("publish", "close"):
            event = "interview.published" if action == "publish" else "interview.closed"
            data = {
                "id": view.id,
                "title": view.title,
                "status": view.status,
                "guide_version": view.guide_version,
            }
            payload: dict[str, Any] = {"interview": data}
            if action == "close":
                payload["reason"] = reason
            await outbox.emit(conn, workspace_id, event, payload)
        return view


async def _freeze(conn: AsyncConnection, interview_id: str, version: int, guide: Any) -> None:
    """Keep `guide` (its JSON, as the interview's row holds it) as this version."""
    await conn.execute(
        insert(schema.guide_versions).values(
            interview_id=interview_id, version=version, guide=guide, created_at=utcnow()
        )
    )


def guide_view(row: Mapping[Any, Any], guide: guides.StoredGuide) -> guides.Guide:
    return guides.Guide(
        interview_id=row["id"], version=row["guide_version"], sections=guide.sections
    )


async def get_guide(db: Database, workspace_id: str, interview_id: str) -> guides.Guide:
    async with db.connect() as conn:
        row = await owned_row(conn, workspace_id, interview_id)
    return guide_view(row._mapping, guides.stored(row.guide))


async def edit_guide(
    db: Database,
    workspace_id: str,
    interview_id: str,
    edit: Callable[[guides.StoredGuide], guides.StoredGuide],
) -> guides.Guide:
    """Apply an edit; on a published interview the result is frozen as the next version."""
    for _ in range(20):
        async with db.begin() as conn:
            row = await owned_row(conn, workspace_id, interview_id)
            if row.status == "closed":
                raise Conflict("a closed interview's guide cannot be edited")
            new_guide = edit(guides.stored(row.guide))
            values: dict[str, Any] = {
                "guide": guides.to_json(new_guide),
                "guide_rev": row.guide_rev + 1,
                "updated_at": utcnow(),
            }
            if row.status != "draft":
                values["guide_version"] = row.guide_version + 1
            # Optimistic: a concurrent edit bumps guide_rev and this one retries on fresh data.
            result = await conn.execute(
                update(t)
                .where(t.c.id == interview_id, t.c.guide_rev == row.guide_rev)
                .values(**values)
            )
            if result.rowcount == 1:
                if "guide_version" in values:
                    await _freeze(conn, interview_id, values["guide_version"], values["guide"])
                return guide_view({**row._mapping, **values}, new_guide)
    raise Conflict("the guide is being edited concurrently; try again")


async def preview_version(conn: AsyncConnection, row: Row[Any]) -> int:
    """The guide version a preview runs on. A published interview's latest version is its
    guide; a draft's guide is frozen as version -guide_rev (negative: never a published one),
    so previews of the same draft share one copy and later edits do not change them."""
    if not guides.items_in_order(guides.stored(row.guide)):
        raise Conflict("add a question to the guide before previewing")
    if row.guide_version > 0:
        return int(row.guide_version)
    version = -int(row.guide_rev)
    # Two previews of the same draft at the same instant both freeze it: the second insert
    # does nothing (on PostgreSQL it waits for the first), rather than a key violation.
    gv = schema.guide_versions
    await conn.execute(
        upsert(conn, gv)
        .values(interview_id=row.id, version=version, guide=row.guide, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[gv.c.interview_id, gv.c.version])
    )
    return version


async def frozen_guide(
    conn: AsyncConnection, interview_id: str, version: int
) -> guides.StoredGuide:
    gv = schema.guide_versions
    guide = await conn.scalar(
        select(gv.c.guide).where(gv.c.interview_id == interview_id, gv.c.version == version)
    )
    if guide is None:
        raise NotFound(f"guide version {version} of {interview_id} is missing")
    return guides.stored(guide)


async def by_share_token(conn: AsyncConnection, share_token: str) -> Row[Any]:
    row = (await conn.execute(select(t).where(t.c.share_token == share_token))).first()
    if row is None:
        raise NotFound("no interview at this link")
    return row
