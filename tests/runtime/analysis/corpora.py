"""Interviews with planted material, seeded straight into SQL for the analysis tests."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from runtime.access import keys
from runtime.interviews import service as interviews
from runtime.stores import schema
from runtime.stores.database import Database

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Only stopwords around a planted phrase, so that nothing but the phrase is a concept.
FRAMES = ("And then there is the {}.", "Also the {}, really.", "So yes, the {} again.")
CLUSTER_A = ("battery life", "charging cable", "Acme Cloud")
CLUSTER_B = ("customer support", "delivery delay", "Globex Corp")


@dataclass
class Planted:
    """The messages of each session, and which sessions (0-based) each phrase was put in."""

    sessions: list[list[str]] = field(default_factory=list)
    where: dict[str, set[int]] = field(default_factory=dict)

    def plant(self, phrase: str, index: int) -> None:
        self.where.setdefault(phrase, set()).add(index)


def noise(rng: random.Random) -> str:
    """A sentence of words no other session has: one respondent's turn of phrase."""
    word = "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))
    return f"Otherwise my {word} was whatever."


def graph_corpus(count: int = 32, seed: int = 7) -> Planted:
    """Two clusters said in separate messages: A (battery life, charging cable, Acme Cloud,
    with price and screen brightness beside battery life) and B (customer support, delivery
    delay, Globex Corp); paraphrased (battery-life, Battery life, delivery delays) and noisy."""
    rng = random.Random(seed)
    out = Planted()
    for i in range(count):
        messages = [noise(rng)]
        if i % 3 != 0:
            life = ("battery life", "battery-life", "Battery life")[i % 3 if i % 2 else 0]
            parts = [f"the {life}" if not life[0].isupper() else life]
            out.plant("battery life", i)
            if i % 2 == 0:
                parts.append("the charging cable")
                out.plant("charging cable", i)
            if i % 7 != 0:
                parts.append("Acme Cloud")
                out.plant("Acme Cloud", i)
            if i % 4 == 1:
                parts.append("the price")
                out.plant("price", i)
            sentence = " and ".join(parts)
            messages.append(sentence[0].upper() + sentence[1:] + ".")
        if i % 5 == 0:
            messages.append("Also the battery life and the screen brightness.")
            out.plant("battery life", i)
            out.plant("screen brightness", i)
        if i % 2 == 1:
            delay = "delivery delays" if i % 4 == 1 else "delivery delay"
            messages.append(f"Customer support at Globex Corp, and the {delay}.")
            for phrase in CLUSTER_B:
                out.plant(phrase, i)
        messages.append(noise(rng))
        out.sessions.append(messages)
    return out


# Two-word phrases whose words occur nowhere else: each is one concept.
PHRASES = (
    "battery life", "customer support", "delivery delay", "price increase", "setup wizard",
    "login screen", "dark mode", "export button", "search filter", "sync conflict",
    "offline access", "password reset", "invoice layout", "team permissions",
    "calendar integration", "push notifications", "onboarding email", "refund policy",
    "shipping label", "voice control", "braille display", "data migration",
    "keyboard shortcuts", "storage quota",
)  # fmt: skip


def saturation_corpus(count: int = 30, introducing: int = 12, seed: int = 11) -> Planted:
    """Sessions 1..`introducing` each bring two new phrases (and repeat the previous
    session's); later sessions only repeat earlier phrases; every session adds noise."""
    rng = random.Random(seed)
    out = Planted()
    for i in range(count):
        said: list[str] = []
        if i < introducing:
            said += PHRASES[2 * i : 2 * i + 2]
        if 0 < i <= introducing:
            said += PHRASES[2 * (i - 1) : 2 * i]
        if i >= introducing:
            said += rng.sample(PHRASES[: 2 * introducing], 3)
        for phrase in said:
            out.plant(phrase, i)
        messages = [FRAMES[n % len(FRAMES)].format(p) for n, p in enumerate(said)]
        out.sessions.append([noise(rng), *messages])
    return out


async def interview(
    db: Database, status: str = "active", workspace_id: str | None = None, **settings: object
) -> tuple[str, str]:
    """An interview in a new workspace, or the one given: (workspace id, interview id)."""
    if workspace_id is None:
        workspace_id = await keys.ensure_workspace(db, f"ws-{uuid.uuid4().hex[:8]}")
    created = await interviews.create(db, workspace_id, {"title": "Planted", **settings})
    i = schema.interviews
    async with db.begin() as conn:
        await conn.execute(
            update(i).where(i.c.id == created.id).values(status=status, guide_version=1)
        )
    return workspace_id, created.id


async def key_for(
    db: Database, workspace_id: str, scopes: tuple[str, ...] = keys.ALL_SCOPES
) -> str:
    """An API key of the workspace with these scopes."""
    return (await keys.create_key(db, workspace_id, "test", scopes, keys.DEFAULT_PLAN)).plaintext


async def add_sessions(
    db: Database,
    workspace_id: str,
    interview_id: str,
    sessions: list[list[str]],
    *,
    first: int = 0,
    status: str = "completed",
    is_test: bool = False,
) -> list[str]:
    """Sessions started a minute apart from START + `first` minutes, each with its
    respondent messages (an interviewer's question before each); their ids in order."""
    ids: list[str] = []
    session_rows, message_rows = [], []
    for n, said in enumerate(sessions, first):
        sid = f"ses_{uuid.uuid4().hex[:24]}"
        at = START + timedelta(minutes=n)
        session_rows.append(
            {
                "id": sid, "workspace_id": workspace_id, "interview_id": interview_id,
                "guide_version": 1, "status": status, "token_hash": uuid.uuid4().hex * 2,
                "respondent_name": f"Respondent {n}", "is_test": is_test, "state": {},
                "turn_seq": len(said), "awaiting": "respondent", "created_at": at,
                "last_activity_at": at, "completed_at": at if status == "completed" else None,
            }
        )  # fmt: skip
        for seq, text in enumerate(said):
            for role, content in (("interviewer", "Tell me more?"), ("respondent", text)):
                message_rows.append(
                    {
                        "id": f"msg_{uuid.uuid4().hex[:24]}", "session_id": sid,
                        "seq": 2 * seq + (role == "respondent"), "role": role,
                        "content": content, "item_id": "Q1", "turn_id": None,
                        "client_message_id": None, "metadata": {}, "created_at": at,
                    }
                )  # fmt: skip
        ids.append(sid)
    async with db.begin() as conn:
        await conn.execute(insert(schema.sessions), session_rows)
        if message_rows:
            await conn.execute(insert(schema.messages), message_rows)
    return ids
