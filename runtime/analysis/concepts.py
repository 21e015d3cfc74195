"""Concepts and entities of a session's respondent messages, with where each occurs.

A **concept** is a normalised keyphrase: a run of one to MAX_NGRAM words inside a clause
with no stopword in it (the clause ends at punctuation), lower-cased, its last word made
singular by a light plural rule (`batteries` → `battery`, `delays` → `delay`). An
**entity** is a named thing: consecutive Capitalised words (`Acme Cloud`), a CamelCase or
digit-bearing name (`PayPal`, `iPhone`, `Note10`), an ALL-CAPS acronym (`CRM`); a
capitalised word opening a sentence is not one on its own (`Honestly, …`). Words inside
an entity are not read as concepts too.

What is kept is where each occurs, (session, message, start, end) character offsets into
the stored text, never a copy of it: erasing the messages erases what the analysis knew.

Only what occurs in at least MIN_SESSIONS sessions counts (`Vocabulary`): one respondent's
turn of phrase is not a concept of the interview. Among the phrases that count, a shorter
one that nearly always occurs inside a longer one (in at least SUBSUMED_SHARE of its
sessions) is left to the longer (`battery` inside `battery life`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Literal, get_args

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from runtime.analysis.corpus import SessionText

MAX_NGRAM = 3
# Sessions a concept or entity must occur in to count (graph nodes, saturation codes).
MIN_SESSIONS = 2
# A phrase whose sessions are at least this share of a sub-phrase's leaves the sub-phrase out.
SUBSUMED_SHARE = 0.8
# Longer "words" are not words (a URL, a run of CJK characters without spaces): skipped.
MAX_WORD_CHARS = 40
# Words of a name: more is a title or a shouted sentence, not a name.
MAX_ENTITY_WORDS = 4

ConceptType = Literal["topic", "attribute", "feeling"]
CONCEPT_TYPES: tuple[ConceptType, ...] = get_args(ConceptType)
EntityType = Literal["organization", "product", "person", "place", "other"]
ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
# What may stand between two words of one phrase: spaces, and a hyphen.
_JOINS = re.compile(r"[ \t-]*")
_SENTENCE_END = re.compile(r"[.!?\n\u3002\uff01\uff1f\u0964\u061f]")
_ACRONYM = re.compile(r"[A-Z]{2,6}s?")
_CAMEL = re.compile(r"[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|[A-Za-z]+\d+\w*")

# Conversational fillers and light verbs beside scikit-learn's English list, less the words
# of that list that are topics in interviews (system, bill, fire, …).
_KEEP = {
    "system",
    "bill",
    "fire",
    "computer",
    "interest",
    "detail",
    "call",
    "describe",
    "find",
    "front",
    "back",
    "bottom",
    "top",
    "side",
    "empty",
    "full",
    "fill",
    "found",
}
_FILLERS = {
    "yeah", "yes", "ok", "okay", "oh", "um", "uh", "like", "just", "really", "actually",
    "pretty", "kind", "sort", "maybe", "probably", "think", "thought", "know", "mean",
    "guess", "lot", "lots", "thing", "things", "stuff", "got", "get", "gets", "getting",
    "use", "used", "using", "did", "does", "doing", "say", "said", "want", "wanted", "way",
    "time", "times", "day", "days", "week", "weeks", "honestly", "basically", "definitely",
    "literally", "feel", "felt", "make", "makes", "made", "bit", "quite", "went",
    "go", "going", "goes", "come", "came", "look", "looked", "tried", "try", "need",
    "needed", "good", "bad", "great", "nice", "fine", "better", "worse", "right", "sure",
    "able", "usually", "overall", "far", "having", "let", "lets", "tell", "told",
}  # fmt: skip
STOPWORDS = frozenset((set(ENGLISH_STOP_WORDS) - _KEEP) | _FILLERS)

# concept_type rules: a phrase led by a feeling word is a feeling; by an adjective (a short
# list, or an adjective's suffix) an attribute; anything else a topic.
_FEELINGS = {
    "frustrated", "frustrating", "frustration", "happy", "unhappy", "annoyed", "annoying",
    "angry", "confused", "confusing", "worried", "anxious", "stressed", "stressful",
    "disappointed", "disappointing", "delighted", "excited", "love", "hate", "scared",
    "upset", "relieved", "satisfied", "dissatisfied", "pleased", "glad", "sad", "afraid",
}  # fmt: skip
_ADJECTIVES = {
    "slow", "fast", "quick", "cheap", "expensive", "easy", "hard", "difficult", "simple",
    "poor", "high", "low", "long", "short", "new", "old", "free", "big", "small", "late",
    "early", "clear", "unclear", "broken", "missing", "hidden", "extra", "huge", "tiny",
}  # fmt: skip
_ADJECTIVE_SUFFIXES = ("ful", "less", "ous", "ive", "able", "ible")

# entity_type rules, on the name's last word (organization, product) or the word before
# the name (person, place); anything else, and every acronym, is `other`.
_ORGANIZATION_WORDS = {
    "inc", "ltd", "llc", "corp", "corporation", "co", "company", "group", "bank", "labs",
    "university", "college", "institute", "agency", "foundation", "airlines", "airways",
    "council", "ministry", "department", "gmbh", "sa", "plc",
}  # fmt: skip
_PRODUCT_WORDS = {
    "cloud", "app", "pro", "plus", "max", "mini", "ultra", "os", "phone", "pad", "watch",
    "suite", "studio", "drive", "pay", "box", "hub", "one", "lite", "prime", "premium",
}  # fmt: skip
_PERSON_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mx"}
_PLACE_PREPOSITIONS = {"in", "from", "near", "around", "across", "throughout"}


@dataclass(frozen=True)
class Ref:
    """One occurrence: [start, end) of a message's stored text."""

    session_id: str
    message_id: str
    start: int
    end: int


@dataclass
class Mentions:
    """A session's concepts and entities (by key), each with its occurrences in order, and
    which of them each message holds (the co-occurrence unit)."""

    session_id: str
    concepts: dict[str, list[Ref]] = field(default_factory=dict)
    entities: dict[str, list[Ref]] = field(default_factory=dict)
    # How each entity was written (its key is case-folded): the label is the commonest.
    surfaces: dict[str, Counter[str]] = field(default_factory=dict)
    entity_types: dict[str, EntityType] = field(default_factory=dict)
    # message id -> (concept keys, entity keys), in message order.
    by_message: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)


def singular(word: str) -> str:
    """A light English plural rule: batteries → battery, boxes → box, delays → delay; words
    in -ss, -us, -is and short words are left as they are."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s")):
        return word[:-1]
    return word


def _past(word: str) -> bool:
    """A past-tense verb by its ending (answered, switched): not a concept, unless it names a
    feeling or a state (frustrated, broken are in the lists)."""
    return (
        len(word) > 4
        and word.endswith("ed")
        and not word.endswith("eed")
        and word not in _FEELINGS
        and word not in _ADJECTIVES
    )


def concept_type(key: str) -> ConceptType:
    first = key.split(" ", 1)[0]
    if first in _FEELINGS:
        return "feeling"
    if first in _ADJECTIVES or (len(first) > 5 and first.endswith(_ADJECTIVE_SUFFIXES)):
        return "attribute"
    return "topic"


def entity_type(words: list[str], before: str | None, acronym: bool) -> EntityType:
    last = words[-1].casefold().rstrip(".")
    if last in _ORGANIZATION_WORDS:
        return "organization"
    if acronym:
        return "other"
    if last in _PRODUCT_WORDS or any(_CAMEL.fullmatch(w) for w in words):
        return "product"
    if before in _PERSON_TITLES:
        return "person"
    if before in _PLACE_PREPOSITIONS:
        return "place"
    return "other"


def _capitalised(word: str) -> bool:
    return (word[:1].isupper() and not word.isupper()) or bool(_CAMEL.fullmatch(word))


def _named(word: str) -> bool:
    """A word that may be part of a name (not `I`, not a lone capital)."""
    return len(word) > 1 and (_capitalised(word) or bool(_ACRONYM.fullmatch(word)))


def extract(session: SessionText) -> Mentions:
    """Every candidate concept and entity of the session, with its occurrences (before the
    corpus decides which count: `Vocabulary`)."""
    out = Mentions(session.session_id)
    for answer in session.answers:
        _read(out, answer.message_id, answer.text)
    return out


def _read(out: Mentions, message_id: str, text: str) -> None:
    words = [m for m in _WORD.finditer(text) if len(m.group()) <= MAX_WORD_CHARS]
    concepts: set[str] = set()
    entities: set[str] = set()
    taken = _entities(out, message_id, text, words, entities)
    run: list[tuple[str, int, int]] = []  # the clause's current stopword-free words
    previous_end = -1
    for index, match in enumerate(words):
        word = match.group()
        lowered = word.casefold()
        joined = previous_end >= 0 and _JOINS.fullmatch(text, previous_end, match.start())
        if not joined:
            run = []
        previous_end = match.end()
        if index in taken or lowered in STOPWORDS or "'" in lowered or "\u2019" in lowered:
            run = []
            continue
        if lowered.isdigit() or (len(lowered) < 2 and lowered.isascii()) or _past(lowered):
            run = []
            continue
        run.append((lowered, match.start(), match.end()))
        del run[:-MAX_NGRAM]
        for n in range(1, len(run) + 1):
            gram = run[-n:]
            key = " ".join([w for w, _, _ in gram[:-1]] + [singular(gram[-1][0])])
            ref = Ref(out.session_id, message_id, gram[0][1], gram[-1][2])
            out.concepts.setdefault(key, []).append(ref)
            concepts.add(key)
    if concepts or entities:
        held = out.by_message.setdefault(message_id, (set(), set()))
        held[0].update(concepts)
        held[1].update(entities)


def _entities(
    out: Mentions, message_id: str, text: str, words: list[re.Match[str]], found: set[str]
) -> set[int]:
    """Finds the message's names; the indices of the words they took."""
    taken: set[int] = set()
    index = 0
    while index < len(words):
        if not _named(words[index].group()):
            index += 1
            continue
        first = index
        while (
            index + 1 < len(words)
            and index + 1 - first < MAX_ENTITY_WORDS
            and _named(words[index + 1].group())
            and _JOINS.fullmatch(text, words[index].end(), words[index + 1].start())
        ):
            index += 1
        span = list(range(first, index + 1))
        index += 1
        opening = first == 0 or bool(
            _SENTENCE_END.search(text[words[first - 1].end() : words[first].start()])
        )
        if opening and words[span[0]].group().casefold() in STOPWORDS:
            span = span[1:]  # "The Acme Cloud app": the name starts after
            opening = False
        titled = len(span) > 1 and words[span[0]].group().casefold() in _PERSON_TITLES
        if titled:
            span = span[1:]  # "Dr Smith": a person, named Smith
            opening = False
        if not span:
            continue
        names = [words[i].group() for i in span]
        acronym = all(_ACRONYM.fullmatch(w) for w in names)
        distinctive = acronym or any(_CAMEL.fullmatch(w) for w in names)
        if opening and len(span) == 1 and not distinctive:
            continue  # a sentence's first word, capitalised as every first word is
        if opening and len(span) > 1 and not distinctive:
            span = span[1:] if len(span) > 2 else span  # "Honestly Acme Cloud" → "Acme Cloud"
            names = [words[i].group() for i in span]
        before = words[span[0] - 1].group().casefold().rstrip(".") if span[0] > 0 else None
        surface = " ".join(names)
        key = surface.casefold()
        out.entities.setdefault(key, []).append(
            Ref(out.session_id, message_id, words[span[0]].start(), words[span[-1]].end())
        )
        out.surfaces.setdefault(key, Counter())[surface] += 1
        out.entity_types.setdefault(key, entity_type(names, before, acronym))
        found.add(key)
        taken.update(span)
    return taken


@dataclass(frozen=True)
class Term:
    """A concept or entity that counts: in how many sessions, how often, what it is."""

    key: str
    label: str
    sessions: int
    mentions: int
    concept_type: ConceptType | None = None
    entity_type: EntityType | None = None


class Vocabulary:
    """What counts across the corpus, fed one session's mentions at a time: memory grows
    with the number of distinct phrases, not with the number of sessions."""

    def __init__(self) -> None:
        self._concept_sessions: Counter[str] = Counter()
        self._concept_mentions: Counter[str] = Counter()
        self._entity_sessions: Counter[str] = Counter()
        self._entity_mentions: Counter[str] = Counter()
        self._surfaces: dict[str, Counter[str]] = {}
        self._types: dict[str, Counter[EntityType]] = {}
        self.sessions = 0

    def add(self, mentions: Mentions) -> None:
        self.sessions += 1
        for key, refs in mentions.concepts.items():
            self._concept_sessions[key] += 1
            self._concept_mentions[key] += len(refs)
        for key, refs in mentions.entities.items():
            self._entity_sessions[key] += 1
            self._entity_mentions[key] += len(refs)
            self._surfaces.setdefault(key, Counter()).update(mentions.surfaces[key])
            self._types.setdefault(key, Counter())[mentions.entity_types[key]] += 1

    def concepts(self) -> dict[str, Term]:
        """The concepts that count, by key (MIN_SESSIONS, then SUBSUMED_SHARE)."""
        counted = {k: n for k, n in self._concept_sessions.items() if n >= MIN_SESSIONS}
        longer: dict[str, int] = {}
        for key, n in counted.items():
            parts = key.split(" ")
            for size in range(1, len(parts)):
                for at in range(len(parts) - size + 1):
                    inner = " ".join(parts[at : at + size])
                    # A sub-phrase ends in the singular only when it ends the phrase.
                    if at + size < len(parts):
                        inner = " ".join(
                            [*parts[at : at + size - 1], singular(parts[at + size - 1])]
                        )
                    longer[inner] = max(longer.get(inner, 0), n)
        return {
            key: Term(key, key, n, self._concept_mentions[key], concept_type=concept_type(key))
            for key, n in sorted(counted.items())
            if longer.get(key, 0) < SUBSUMED_SHARE * n
        }

    def entities(self) -> dict[str, Term]:
        """The entities that count, by key, labelled as most often written."""
        out: dict[str, Term] = {}
        for key, n in sorted(self._entity_sessions.items()):
            if n < MIN_SESSIONS:
                continue
            label = min(self._surfaces[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            kind = min(self._types[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            out[key] = Term(key, label, n, self._entity_mentions[key], entity_type=kind)
        return out


def codes(mentions: Mentions, counted: Container[str]) -> frozenset[str]:
    """The session's concepts among those that count (its saturation codes)."""
    return frozenset(k for k in mentions.concepts if k in counted)
