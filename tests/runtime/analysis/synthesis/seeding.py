"""A completed synthesis stored as the job stores one: its row, its sessions, its quotes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from runtime.access import keys
from runtime.analysis.synthesis.views import (
    DivergentView,
    Quote,
    Synthesis,
    SynthesisCounts,
    SynthesisFilters,
    Theme,
    ViewSide,
)
from runtime.interviews import guide as guides
from runtime.stores import schema
from runtime.stores.database import Database

EMPTY_GUIDE = guides.to_json(guides.empty_guide())
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
GENERATED = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
HOSTILE = (
    "# Forged heading\n* not a list <script>alert(1)</script> "
    "[click](javascript:alert(1)) ![x](http://evil.example/x.png) the price is a joke"
)
# (respondent name, what they said): the first session is abandoned and quoted nowhere, so
# the quoted participants are numbered from 2 among all the interview's sessions.
RESPONDENTS: list[tuple[str | None, str]] = [
    ("Early Leaver", "I had to go."),
    ("Ada", "The pricing page was confusing, so I gave up and called sales."),
    ("李小龙", "价格页面让我很困惑, 我不知道该选哪个套餐。"),
    ("سارة", "صفحة الأسعار مربكة جدا ولم أفهم الخطط"),
    ("Mallory", HOSTILE),
    (None, "Support answered within minutes, which was great."),
]


@dataclass
class Seeded:
    workspace_id: str
    interview_id: str
    synthesis_id: str
    title: str
    sessions: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # each session's one answer, in order


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


async def interview(
    db: Database, workspace_id: str | None = None, *, anonymous: bool = False
) -> Seeded:
    """An active interview with RESPONDENTS' sessions, each with its one respondent answer."""
    workspace_id = workspace_id or await keys.ensure_workspace(db, f"ws-{uuid.uuid4().hex[:8]}")
    seeded = Seeded(workspace_id, _id("int"), "", f"Pricing study {uuid.uuid4().hex[:4]}")
    now = datetime.now(UTC)
    sessions, messages = [], []
    for n, (name, said) in enumerate(RESPONDENTS):
        sid, mid = _id("ses"), _id("msg")
        at = START + timedelta(minutes=10 * n)
        status = "abandoned" if n == 0 else "completed"
        sessions.append(
            {
                "id": sid, "workspace_id": workspace_id, "interview_id": seeded.interview_id,
                "guide_version": 1, "status": status, "token_hash": uuid.uuid4().hex * 2,
                "respondent_name": name, "is_test": False, "state": {}, "turn_seq": 1,
                "awaiting": "respondent", "created_at": at, "last_activity_at": at,
                "completed_at": None if n == 0 else at + timedelta(minutes=5),
            }
        )  # fmt: skip
        messages.append(
            {
                "id": mid, "session_id": sid, "seq": 1, "role": "respondent", "content": said,
                "item_id": "Q1", "metadata": {}, "created_at": at + timedelta(minutes=1),
            }
        )  # fmt: skip
        seeded.sessions.append(sid)
        seeded.messages.append(mid)
    async with db.begin() as conn:
        await conn.execute(
            insert(schema.interviews).values(
                id=seeded.interview_id, workspace_id=workspace_id, title=seeded.title,
                goal="", context="", tone="", language="en", welcome_message="",
                closing_message="", engine="scripted", settings={"anonymous": anonymous},
                status="active", share_token=uuid.uuid4().hex, guide=EMPTY_GUIDE, guide_rev=0,
                guide_version=1, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        await conn.execute(
            insert(schema.guide_versions).values(
                interview_id=seeded.interview_id, version=1, guide=EMPTY_GUIDE, created_at=now
            )
        )
        await conn.execute(insert(schema.sessions), sessions)
        await conn.execute(insert(schema.messages), messages)
    return seeded


def _quote(
    seeded: Seeded, n: int, theme_id: str, score: float, text: str | None = None
) -> dict[str, Any]:
    said = RESPONDENTS[n][1]
    text = said if text is None else text
    start = said.index(text)
    return {
        "id": _id("quo"), "workspace_id": seeded.workspace_id,
        "interview_id": seeded.interview_id, "session_id": seeded.sessions[n],
        "message_id": seeded.messages[n], "start": start, "end": start + len(text),
        "text": text, "score": score, "synthesis_id": seeded.synthesis_id,
        "theme_id": theme_id, "created_at": GENERATED,
    }  # fmt: skip


RESULT: dict[str, Any] = {
    "summary": "Most participants found pricing confusing.\n# Not a heading either",
    "themes": [
        {
            "id": "th_1", "title": "Pricing is confusing", "sentiment": "negative",
            "description": "Participants could not tell the plans apart.",
            "prevalence": 4, "mentions": 5, "keywords": ["pricing", "plans", "confusing"],
            "session_ids": [],
        },
        {
            "id": "th_2", "title": "Support is quick", "sentiment": "positive",
            "description": "Answers came within minutes.", "prevalence": 1, "mentions": 1,
            "keywords": ["support"], "session_ids": [],
        },
    ],
    "divergent_views": [
        {
            "id": "dv_1", "title": "Is the price fair?", "description": "Opinions split.",
            "theme_id": "th_1",
            "sides": [
                {"stance": "A joke", "prevalence": 1, "session_ids": []},
                {"stance": "Confusing but fair", "prevalence": 1, "session_ids": []},
            ],
        }
    ],
    "counts": {"quotes_shown": 7, "quotes_dropped": 2, "sessions_read": 5, "sessions_reused": 0},
    "model": None,
}  # fmt: skip


async def synthesis(
    db: Database, seeded: Seeded, *, status: str = "completed", created: datetime | None = None
) -> str:
    """A synthesis row of the interview (with RESULT and its quotes when completed)."""
    synthesis_id = _id("syn")
    seeded.synthesis_id = synthesis_id
    completed = status == "completed"
    row = {
        "id": synthesis_id, "workspace_id": seeded.workspace_id,
        "interview_id": seeded.interview_id, "status": status,
        "progress": 1.0 if completed else 0.4, "engine": "offline",
        "filters": {
            "statuses": ["completed"], "since": "2026-11-01T00:00:00Z", "include_test": False,
        },
        "session_count": 5 if completed else None, "result": RESULT if completed else None,
        "error": None, "created_at": created or GENERATED - timedelta(minutes=1),
        "generated_at": GENERATED if completed else None,
    }  # fmt: skip
    quotes = [
        _quote(seeded, 1, "th_1", 100.0, "The pricing page was confusing"),
        _quote(seeded, 3, "th_1", 92.5),
        _quote(seeded, 2, "th_1", 100.0),
        _quote(seeded, 4, "th_1", 88.0, "the price is a joke"),
        _quote(seeded, 5, "th_2", 100.0),
        _quote(seeded, 4, "dv_1/0", 95.0, HOSTILE),
        _quote(seeded, 1, "dv_1/1", 90.0, "so I gave up and called sales"),
    ]
    for index, q in enumerate(quotes):  # numbered in the engine's order, as the job does
        q["id"] = f"qt_{synthesis_id.removeprefix('syn_')}_{index:04d}"
    async with db.begin() as conn:
        await conn.execute(insert(schema.syntheses).values(**row))
        if completed:
            await conn.execute(insert(schema.quotes), quotes)
    return synthesis_id


def quote(n: int, text: str | None = None, *, score: float = 100.0) -> Quote:
    """A quote of RESPONDENTS[n]'s answer, as a view (for renderers that need no database)."""
    name, said = RESPONDENTS[n]
    text = said if text is None else text
    start = said.index(text)
    return Quote(
        id=f"quo_{n}_{start}", session_id=f"ses_{n}", message_id=f"msg_{n}", start=start,
        end=start + len(text), text=text, participant=name or f"Participant {n + 1}",
        score=score,
    )  # fmt: skip


def view(**changes: Any) -> Synthesis:
    """RESULT as a view with its quotes, in memory."""
    themes = [
        Theme(
            id="th_1", title="Pricing is confusing", description="Plans looked alike.",
            sentiment="negative", prevalence=4, prevalence_share=0.8, mentions=5,
            keywords=["pricing", "plans"], session_ids=["ses_1", "ses_2", "ses_3", "ses_4"],
            quotes=[quote(1, "The pricing page was confusing"), quote(2), quote(3), quote(4)],
        ),
        Theme(
            id="th_2", title="Support is quick", description="Answers came within minutes.",
            sentiment="positive", prevalence=1, prevalence_share=0.2, mentions=1,
            keywords=["support"], session_ids=["ses_5"], quotes=[quote(5)],
        ),
    ]  # fmt: skip
    views = [
        DivergentView(
            id="dv_1", title="Is the price fair?", description="Opinions split.",
            theme_id="th_1",
            sides=[
                ViewSide(
                    stance="A joke", prevalence=1, session_ids=["ses_4"],
                    quotes=[quote(4, "the price is a joke")],
                ),
                ViewSide(
                    stance="Fair", prevalence=1, session_ids=["ses_1"],
                    quotes=[quote(1, "called sales")],
                ),
            ],
        )
    ]  # fmt: skip
    fields: dict[str, Any] = {
        "id": "syn_1", "interview_id": "int_1", "status": "completed", "progress": 1.0,
        "engine": "offline", "model": None,
        "filters": SynthesisFilters(statuses=["completed"], since=None, include_test=False),
        "session_count": 5, "created_at": GENERATED, "generated_at": GENERATED, "error": None,
        "summary": RESULT["summary"], "themes": themes, "divergent_views": views,
        "counts": SynthesisCounts(
            quotes_shown=7, quotes_dropped=2, sessions_read=5, sessions_reused=0
        ),
    }  # fmt: skip
    return Synthesis(**{**fields, **changes})
