"""Interview answers with planted themes, made fast and the same every run, for bench.synthesis.

Eight themes, each a set of paraphrases that share some content words and vary the rest
(slots filled per respondent), held by a known share of the respondents; every answer also
carries small talk, and some an aside of the respondent's own. `planted(count)` says who
holds which theme, so a run's themes can be scored against it (runtime.analysis.agreement).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEED = 20261202
QUESTIONS = 5

# (name, share of respondents who hold it, paraphrases with {slot}s, slot fillers)
THEMES: tuple[tuple[str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("battery", 0.55, (
        "The battery dies before {slot}, which is really annoying.",
        "Battery life is a real problem for me, it never lasts until {slot}.",
        "I have to charge it twice a day because the battery is weak by {slot}.",
        "Honestly the battery drains so fast that by {slot} it is empty.",
    ), ("lunch", "the afternoon", "dinner", "my commute home", "noon")),
    ("support", 0.4, (
        "Customer support never answered my emails about {slot}.",
        "When I contacted support about {slot} nobody replied for a week.",
        "The support team was slow and unhelpful with {slot}.",
        "I waited days for customer support to help with {slot}.",
    ), ("a refund", "the login problem", "my invoice", "a broken cable", "the setup")),
    ("price", 0.35, (
        "The price is too high for what you get, especially {slot}.",
        "It is expensive compared to {slot}, I almost did not buy it.",
        "Honestly the subscription price feels steep next to {slot}.",
        "I think the pricing is unfair given {slot}.",
    ), ("the competitors", "last year", "the basic plan", "other apps", "the free tier")),
    ("delivery", 0.3, (
        "The delivery was late by {slot} and nobody told me.",
        "My order arrived {slot} after the promised delivery date.",
        "Shipping took forever, the parcel came {slot} late.",
        "The courier delayed the delivery by {slot} without any notice.",
    ), ("two weeks", "five days", "a month", "ten days", "three weeks")),
    ("design", 0.45, (
        "I love the design, it looks great on {slot}.",
        "The design is beautiful and feels premium in {slot}.",
        "It is a really good looking device, people ask about it at {slot}.",
        "The sleek design is my favourite part when I use it at {slot}.",
    ), ("my desk", "the office", "home", "meetings", "the gym")),
    ("setup", 0.25, (
        "Setting it up took {slot} and the instructions were confusing.",
        "The setup process was confusing, it took me {slot} to pair it.",
        "Pairing during setup failed {slot} before it finally worked.",
        "I needed {slot} to finish the setup because the app kept crashing.",
    ), ("an hour", "two hours", "three tries", "most of the evening", "four attempts")),
    ("privacy", 0.2, (
        "I worry about privacy and what happens to my data on {slot}.",
        "Privacy matters to me, I do not know who sees my data in {slot}.",
        "I am concerned the app shares my personal data with {slot}.",
        "My data privacy is a concern, especially with {slot}.",
    ), ("their servers", "the cloud", "advertisers", "third parties", "the new update")),
    ("sound", 0.3, (
        "The sound quality is excellent, even at {slot}.",
        "The sound is crisp and clear when I listen at {slot}.",
        "I am impressed by the sound, the bass is great at {slot}.",
        "The speakers sound rich and loud, perfect for {slot}.",
    ), ("full volume", "night", "parties", "low volume", "the weekend")),
)  # fmt: skip
NOISE = (
    "I don't know, it is fine I guess.",
    "Not much else to say about that.",
    "Hmm, let me think.",
    "That's a good question.",
    "Nothing comes to mind right now.",
    "It is okay most of the time.",
)
# Asides that are each person's own: slots from lists long enough that no aside is said by
# more than a few percent of the respondents (a phrase said by many is a theme, not noise).
ONE_OFF = "My {who} {did} it {where}."
WHO = (
    "cat",
    "neighbour",
    "uncle",
    "boss",
    "dentist",
    "cousin",
    "landlord",
    "coach",
    "barber",
    "grandmother",
    "flatmate",
    "nephew",
    "pharmacist",
    "teacher",
    "plumber",
    "godson",
    "baker",
    "florist",
    "mechanic",
    "tailor",
)
DID = (
    "sat on",
    "borrowed",
    "painted",
    "photographed",
    "hid",
    "dropped",
    "wrapped",
    "sketched",
    "polished",
    "weighed",
    "sniffed",
    "labelled",
    "measured",
    "juggled",
    "carried",
    "buried",
    "blessed",
    "named",
    "tickled",
    "ignored",
)
WHERE = (
    "at a wedding",
    "in Lisbon",
    "on a ferry",
    "during a storm",
    "at the zoo",
    "in a lift",
    "on a Tuesday",
    "at midnight",
    "in the garden",
    "at a concert",
    "on a train",
    "in a tent",
    "at the market",
    "near a lighthouse",
    "in a museum",
    "on a rooftop",
    "at a picnic",
    "in a cellar",
    "on a bridge",
    "at the harbour",
)


@dataclass(frozen=True)
class Respondent:
    themes: tuple[int, ...]
    # Which question each theme is mentioned under.
    where: dict[int, int]


def respondent(n: int) -> Respondent:
    rng = random.Random(SEED * 100_003 + n)
    held = tuple(i for i, (_, share, _, _) in enumerate(THEMES) if rng.random() < share)
    return Respondent(held, {t: rng.randrange(1, QUESTIONS + 1) for t in held})


def planted(count: int) -> dict[str, set[int]]:
    """Each theme's name → the session numbers that hold it."""
    out: dict[str, set[int]] = {name: set() for name, *_ in THEMES}
    for n in range(count):
        for t in respondent(n).themes:
            out[THEMES[t][0]].add(n)
    return out


def answer(n: int, question: int) -> str:
    """Respondent n's answer to question `question` (1-based)."""
    who = respondent(n)
    rng = random.Random(SEED * 7 + n * 31 + question)
    parts = []
    for t in who.themes:
        if who.where[t] == question:
            _, _, templates, slots = THEMES[t]
            parts.append(rng.choice(templates).format(slot=rng.choice(slots)))
    parts.append(rng.choice(NOISE))
    if rng.random() < 0.15:
        parts.append(ONE_OFF.format(who=rng.choice(WHO), did=rng.choice(DID),
                                    where=rng.choice(WHERE)))  # fmt: skip
    rng.shuffle(parts)
    return " ".join(parts)
