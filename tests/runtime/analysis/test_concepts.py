"""Concepts and entities of a session: normalised, typed, located by offsets, counted."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from runtime.analysis import concepts
from runtime.analysis.corpus import Answer, SessionText

SAID = (
    "Honestly, the batteries on my Acme Cloud phone die fast. Customer support at Globex "
    "Corp never answered! I wrote to Dr Smith in New York about the CRM and PayPal."
)


def session(sid: str, *texts: str) -> SessionText:
    answers = tuple(Answer(f"{sid}-m{n}", "Q1", n, t) for n, t in enumerate(texts))
    return SessionText(
        sid, 1, "Participant 1", "completed", datetime(2026, 1, 1, tzinfo=UTC), None, answers
    )


def test_entities_are_named_things_with_a_documented_type() -> None:
    found = concepts.extract(session("s1", SAID))
    assert found.entity_types == {
        "acme cloud": "product",
        "globex corp": "organization",
        "smith": "person",
        "new york": "place",
        "crm": "other",
        "paypal": "product",
    }
    # A capitalised first word is not a name; "Customer support" is a concept.
    assert "honestly" not in found.entities and "customer" not in found.entities
    assert "customer support" in found.concepts


def test_offsets_slice_the_stored_text_and_nothing_is_copied() -> None:
    found = concepts.extract(session("s1", SAID))
    for key, refs in found.entities.items():
        for ref in refs:
            assert SAID[ref.start : ref.end].casefold() == key
    (battery,) = found.concepts["battery"]
    assert SAID[battery.start : battery.end] == "batteries"  # the singular is the key
    assert all(isinstance(r, concepts.Ref) for refs in found.concepts.values() for r in refs)


def test_the_plural_rule_and_hyphens_give_one_concept() -> None:
    found = concepts.extract(session("s1", "The delivery delays.", "A delivery-delay again."))
    assert [SAID_of(found, "s1", r) for r in found.concepts["delivery delay"]] == [
        "delivery delays",
        "delivery-delay",
    ]
    assert concepts.singular("batteries") == "battery"
    assert concepts.singular("boxes") == "box"
    assert concepts.singular("status") == "status" and concepts.singular("glass") == "glass"


def SAID_of(found: concepts.Mentions, sid: str, ref: concepts.Ref) -> str:
    texts = {"s1-m0": "The delivery delays.", "s1-m1": "A delivery-delay again."}
    return texts[ref.message_id][ref.start : ref.end]


def test_concept_types_follow_the_documented_rules() -> None:
    assert concepts.concept_type("battery life") == "topic"
    assert concepts.concept_type("expensive plan") == "attribute"
    assert concepts.concept_type("frustrated user") == "feeling"


def test_other_scripts_do_not_break_it() -> None:
    found = concepts.extract(session("s1", "電池の寿命が短い。Батарея садится быстро, батарея!"))
    assert "батарея" in found.concepts and len(found.concepts["батарея"]) == 2


def test_a_concept_counts_from_two_sessions_and_a_sub_phrase_yields_to_its_phrase() -> None:
    vocabulary = concepts.Vocabulary()
    vocabulary.add(concepts.extract(session("s1", "The battery life. My zorblat.")))
    vocabulary.add(concepts.extract(session("s2", "Battery life, and Acme Cloud.")))
    vocabulary.add(concepts.extract(session("s3", "The Acme Cloud and the battery life.")))
    vocabulary.add(concepts.extract(session("s4", "A slow battery.")))
    counted = vocabulary.concepts()
    # "battery": 4 sessions, 3 of them inside "battery life" (>= 0.8 x 4 would be needed).
    assert set(counted) == {"battery life", "battery"}
    assert counted["battery life"].sessions == 3
    vocabulary.add(concepts.extract(session("s5", "Battery life.")))
    # Now 4 of its 5 sessions: left to the phrase.
    assert set(vocabulary.concepts()) == {"battery life"}
    assert "zorblat" not in counted  # one session: noise
    (acme,) = vocabulary.entities().values()
    assert (acme.label, acme.sessions, acme.entity_type) == ("Acme Cloud", 2, "product")


def test_a_typical_session_takes_well_under_ten_milliseconds() -> None:
    # Twelve answers of some forty words: what a completed text session holds.
    answer = (
        "Honestly the onboarding was slow, the setup wizard kept asking for the same "
        "invoice details, and Acme Cloud support took two days to answer my ticket about "
        "the billing page, which made the whole team a bit frustrated with the product."
    )
    typical = session("s1", *([answer] * 12))
    started = time.perf_counter()
    for _ in range(50):
        concepts.extract(typical)
    per_session_ms = (time.perf_counter() - started) / 50 * 1000
    print(f"concepts.extract: {per_session_ms:.2f} ms per session")
    assert per_session_ms < 10 * 5  # measured ~1 ms; a loaded CI machine has a wide margin
