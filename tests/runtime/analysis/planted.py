"""An interview of completed sessions with planted themes, seeded in SQL, and its ground truth.

Six themes, each said by a known set of respondents (20% to 70% of them) in paraphrases that
share a few content words but vary wording and order; around them small talk, "I don't
know" and off-topic one-offs. One theme is divided: some of its respondents praise it,
others complain. `plant` builds it; `extend` adds sessions to it (incremental re-runs).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import insert

from runtime.access import keys
from runtime.interviews import guide as guides
from runtime.stores import schema
from runtime.stores.database import Database

Language = Literal["en", "de"]

QUESTIONS = {
    "en": [
        "How did your first week with the product go?",
        "What gets in your way when you use it?",
        "What do you like about it?",
        "How do you feel about what it costs and the help you get?",
        "Anything else you would like to tell us?",
    ],
    "de": [
        "Wie lief Ihre erste Woche mit dem Produkt?",
        "Was stört Sie bei der Nutzung?",
        "Was gefällt Ihnen daran?",
        "Was halten Sie vom Preis und von der Hilfe, die Sie bekommen?",
        "Möchten Sie uns sonst noch etwas sagen?",
    ],
}

# theme -> (share of respondents, paraphrases)
THEMES: dict[str, dict[str, tuple[float, list[str]]]] = {
    "en": {
        "battery": (
            0.7,
            [
                "The battery dies before lunch.",
                "Battery life is a real problem for me.",
                "I charge it twice a day because the battery is weak.",
                "By the afternoon the battery is almost empty.",
                "I carry a charger everywhere since the battery drains so fast.",
                "Battery drain is the first thing I would fix.",
            ],
        ),
        "setup": (
            0.55,
            [
                "Setting up the account took me a whole afternoon.",
                "The setup wizard was confusing at first.",
                "Account setup asked for far too many details.",
                "I needed a colleague to finish the setup of my account.",
                "The initial setup steps were not obvious.",
            ],
        ),
        "support": (0.45, []),  # divided: SUPPORT_POSITIVE / SUPPORT_NEGATIVE
        "price": (
            0.4,
            [
                "The price is too high for a small company.",
                "We almost cancelled because of the monthly price.",
                "For that price I expected more features.",
                "Our finance people keep asking about the price.",
                "The price went up twice this year.",
            ],
        ),
        "sync": (
            0.3,
            [
                "Sync between my phone and laptop often fails.",
                "My notes do not sync when the laptop is offline.",
                "Sync takes ages on the train.",
                "I lost edits twice because sync got stuck.",
            ],
        ),
        "dashboard": (
            0.2,
            [
                "The dashboard gives me a clear overview of my projects.",
                "I open the dashboard charts every Monday morning.",
                "The dashboard charts are easy to read.",
                "I share the dashboard with my manager.",
            ],
        ),
    },
    "de": {
        "akku": (
            0.7,
            [
                "Der Akku ist schon vor dem Mittag leer.",
                "Mit dem Akku habe ich wirklich Probleme.",
                "Ich lade den Akku zweimal am Tag, weil er so schwach ist.",
                "Am Nachmittag ist der Akku fast leer.",
                "Ich trage immer ein Ladegerät mit, weil der Akku nicht hält.",
            ],
        ),
        "einrichtung": (
            0.55,
            [
                "Die Einrichtung des Kontos hat einen ganzen Nachmittag gedauert.",
                "Der Assistent für die Einrichtung war anfangs verwirrend.",
                "Bei der Einrichtung wollte das Konto viel zu viele Angaben.",
                "Ein Kollege musste mir bei der Einrichtung des Kontos helfen.",
            ],
        ),
        "support": (0.45, []),
        "preis": (
            0.4,
            [
                "Der Preis ist für eine kleine Firma zu hoch.",
                "Wegen dem monatlichen Preis hätten wir fast gekündigt.",
                "Für diesen Preis hätte ich mehr Funktionen erwartet.",
                "Der Preis wurde dieses Jahr zweimal erhöht.",
            ],
        ),
        "synchronisierung": (
            0.3,
            [
                "Die Synchronisierung zwischen Handy und Laptop schlägt oft fehl.",
                "Ohne Internet klappt die Synchronisierung der Notizen nicht.",
                "Im Zug dauert die Synchronisierung ewig.",
                "Ich habe Änderungen verloren, weil die Synchronisierung hing.",
            ],
        ),
        "dashboard": (
            0.2,
            [
                "Das Dashboard gibt mir einen klaren Überblick über meine Projekte.",
                "Jeden Montag schaue ich mir die Diagramme im Dashboard an.",
                "Die Diagramme im Dashboard sind leicht zu lesen.",
                "Ich teile das Dashboard mit meiner Chefin.",
            ],
        ),
    },
}
DIVIDED = "support"
SUPPORT = {
    "en": (
        [
            "The support team was wonderful and answered within an hour.",
            "Support was fantastic, they solved everything quickly.",
            "I love how friendly the support people are.",
            "The support team is excellent and very patient.",
        ],
        [
            "Support never answered my emails, terrible experience.",
            "The support team was useless and rude.",
            "I waited a week for support, awful.",
            "Support ignored my ticket, which was really frustrating.",
        ],
    ),
    "de": (
        [
            "Der Support war wunderbar und hat sofort geantwortet.",
            "Das Team vom Support ist freundlich und geduldig.",
            "Der Support hat alles schnell gelöst, super.",
        ],
        [
            "Der Support hat nie auf meine Mails geantwortet.",
            "Vom Support kam nur eine nutzlose Standardantwort.",
            "Eine Woche habe ich auf den Support gewartet.",
        ],
    ),
}
NOISE = {
    "en": ["I don't know.", "Not really, no.", "Hmm, let me think about that.",
           "That's all I can say about it.", "No, nothing else."],
    "de": ["Das weiß ich nicht.", "Eigentlich nicht.", "Hmm, lassen Sie mich überlegen.",
           "Mehr fällt mir dazu nicht ein.", "Nein, sonst nichts."],
}  # fmt: skip
# Off-topic one-offs, each used by at most one respondent (their words are said once).
ONE_OFFS = {
    "en": [
        "My cousin visited from Lisbon last weekend.",
        "Our office moved to a greener district.",
        "I am training for a marathon in spring.",
        "The coffee machine upstairs broke yesterday.",
        "We adopted a grey kitten called Pixel.",
        "My daughter started violin lessons.",
        "The elevator in our building squeaks terribly.",
        "I read a novel about Antarctic whalers.",
        "Our team planted tomatoes on the balcony.",
        "I switched from tea to espresso recently.",
        "The parking garage closes at eight.",
        "My neighbour restores vintage motorcycles.",
        "We held a pub quiz for charity.",
        "Snow blocked the mountain pass for days.",
        "I collect postcards from lighthouses.",
        "Our canteen serves lentil soup on Fridays.",
    ],
    "de": [
        "Mein Cousin war letztes Wochenende aus Lissabon zu Besuch.",
        "Unser Büro ist in einen grüneren Stadtteil gezogen.",
        "Ich trainiere für einen Marathon im Frühling.",
        "Die Kaffeemaschine oben ist gestern kaputtgegangen.",
        "Wir haben eine graue Katze namens Pixel adoptiert.",
        "Meine Tochter hat mit Geigenunterricht angefangen.",
        "Der Aufzug in unserem Gebäude quietscht schrecklich.",
        "Ich sammle Postkarten von Leuchttürmen.",
    ],
}
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Planted:
    workspace_id: str
    interview_id: str
    language: Language
    seed: int
    session_ids: tuple[str, ...]
    # theme -> the sessions it was planted in
    themes: dict[str, frozenset[str]]
    # The divided theme, and who praises it and who complains about it.
    divided: str
    praising: frozenset[str]
    complaining: frozenset[str]


async def plant(
    db: Database,
    workspace_id: str | None = None,
    sessions: int = 36,
    seed: int = 1,
    language: Language = "en",
) -> Planted:
    """A published interview of `sessions` completed sessions with the planted themes."""
    if workspace_id is None:
        workspace_id = await keys.ensure_workspace(db, f"planted-{uuid.uuid4().hex[:8]}")
    interview_id = f"int_{uuid.uuid4().hex[:24]}"
    stored = guides.empty_guide()
    stored, section = guides.add_section(stored, "Main")
    for text in QUESTIONS[language]:
        stored, _ = guides.add_item(stored, section, "question", {"text": text})
    guide = guides.to_json(stored)
    async with db.begin() as conn:
        await conn.execute(
            insert(schema.interviews).values(
                id=interview_id, workspace_id=workspace_id, title="Planted study",
                goal="", context="", tone="", language=language, welcome_message="",
                closing_message="", engine="scripted", settings={}, status="active",
                share_token=uuid.uuid4().hex, guide=guide, guide_rev=1, guide_version=1,
                created_at=BASE_TIME, updated_at=BASE_TIME,
            )
        )  # fmt: skip
        await conn.execute(
            insert(schema.guide_versions).values(
                interview_id=interview_id, version=1, guide=guide, created_at=BASE_TIME
            )
        )
    empty = Planted(
        workspace_id, interview_id, language, seed, (), {t: frozenset() for t in THEMES[language]},
        DIVIDED, frozenset(), frozenset(),
    )  # fmt: skip
    return await extend(db, empty, sessions)


async def extend(db: Database, planted: Planted, count: int) -> Planted:
    """`count` more completed sessions on the planted interview, started after the others."""
    language = planted.language
    rng = random.Random(f"{planted.seed}:{len(planted.session_ids)}:{count}")
    themes = {t: set(s) for t, s in planted.themes.items()}
    praising, complaining = set(planted.praising), set(planted.complaining)
    items = [f"Q{i}" for i in range(1, len(QUESTIONS[language]) + 1)]
    new_ids: list[str] = []
    session_rows, message_rows = [], []
    for n in range(count):
        index = len(planted.session_ids) + n
        sid = f"ses_{uuid.uuid4().hex[:24]}"
        new_ids.append(sid)
        # Each respondent gets each theme with its share's chance (seeded).
        said: list[str] = []
        for t, (share, lines) in THEMES[language].items():
            if rng.random() >= share:
                continue
            themes[t].add(sid)
            if t == DIVIDED:
                good = rng.random() < 0.5
                (praising if good else complaining).add(sid)
                pool = SUPPORT[language][0 if good else 1]
            else:
                pool = lines
            said.extend(rng.sample(pool, k=min(len(pool), rng.choice((1, 1, 2)))))
        rng.shuffle(said)
        answers: list[list[str]] = [[] for _ in items]
        for i, line in enumerate(said):
            answers[(i + rng.randrange(len(items))) % len(items)].append(line)
        one_offs = ONE_OFFS[language]
        if index % 3 == 0 and index // 3 < len(one_offs):
            answers[rng.randrange(len(items))].append(one_offs[index // 3])
        for answer in answers:
            if not answer or rng.random() < 0.3:
                answer.insert(rng.randrange(len(answer) + 1), rng.choice(NOISE[language]))
        created = BASE_TIME + timedelta(hours=index)
        session_rows.append(
            {
                "id": sid, "workspace_id": planted.workspace_id,
                "interview_id": planted.interview_id, "guide_version": 1,
                "status": "completed", "token_hash": uuid.uuid4().hex * 2,
                "respondent_name": None, "is_test": False, "state": {}, "turn_seq": len(items),
                "awaiting": "respondent", "created_at": created,
                "last_activity_at": created + timedelta(minutes=20),
                "completed_at": created + timedelta(minutes=20),
            }
        )  # fmt: skip
        for i, (item, answer) in enumerate(zip(items, answers, strict=True)):
            for seq, role, text in (
                (2 * i + 1, "interviewer", QUESTIONS[language][i]),
                (2 * i + 2, "respondent", " ".join(answer)),
            ):
                message_rows.append(
                    {
                        "id": f"msg_{uuid.uuid4().hex[:24]}", "session_id": sid, "seq": seq,
                        "role": role, "content": text, "item_id": item,
                        "turn_id": f"t{seq}" if role == "interviewer" else None,
                        "client_message_id": None if role == "interviewer" else f"c{seq}",
                        "metadata": {}, "created_at": created + timedelta(minutes=seq),
                    }
                )  # fmt: skip
    if session_rows:
        async with db.begin() as conn:
            await conn.execute(insert(schema.sessions), session_rows)
            await conn.execute(insert(schema.messages), message_rows)
    return replace(
        planted,
        session_ids=(*planted.session_ids, *new_ids),
        themes={t: frozenset(s) for t, s in themes.items()},
        praising=frozenset(praising),
        complaining=frozenset(complaining),
    )
