"""Reading a respondent's answer: the value of a choice or rating, and whether it is thin."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from runtime.interviews.guide import DEFAULT_SCALE, Item, Scale
from runtime.vocabulary import ResolvedBy, ValueStatus

# An answer that maps to nothing is asked again at most this often, then recorded as
# unresolved and moved past (a required one is asked once more before closing).
MAX_REASKS = 2
# A model's mapping of a paraphrase to an option counts from this confidence on; below it,
# the answer is asked again rather than filed under a guess.
MIN_CONFIDENCE = 0.5
# An answer adding fewer words of its own than this to the question is thin for it.
THIN_OWN_WORDS = 2
_NON_ANSWERS = frozenset(
    {
        "idk", "dunno", "no idea", "not sure", "nothing", "n/a", "na", "none", "ok", "okay",
        "fine", "yes", "no", "yeah", "yep", "nope", "maybe", "sure", "whatever", "good",
        "i don't know", "i dont know", "don't know", "no comment", "pass", "-", "?",
        # The catalogs' languages (runtime/languages/locales): "don't know", "nothing", "ok".
        "no sé", "nada", "vale", "sí", "je ne sais pas", "sais pas", "rien", "oui", "non",
        "d'accord", "weiß nicht", "keine ahnung", "nichts", "ja", "nein", "não sei",
        "sim", "não", "non lo so", "niente", "boh", "weet ik niet", "geen idee", "niets",
        "nee", "わかりません", "分かりません", "特にない", "はい", "いいえ", "不知道", "没有",
        "是", "好", "모르겠어요", "몰라요", "없어요", "네", "아니요", "لا أعرف", "لا شيء", "نعم",
        "لا", "לא יודע", "לא יודעת", "כלום", "כן", "לא",
    }
)  # fmt: skip
_STOPWORDS = frozenset(
    """a an and are as at be but by do does for from had has have i i'm in is it it's its
    me my of on or our so that the their them then there they this to us was we were what
    when where which who why how with you your just really very also about like""".split()
)
# Scripts written without spaces between words: there, two characters count as a word.
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI")


@dataclass(frozen=True)
class Resolution:
    """What an answer gave a choice or rating item (open-ended items have none)."""

    value: str | int | None
    status: ValueStatus
    confidence: float | None = None
    resolved_by: ResolvedBy | None = None

    def stored(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "value_status": self.status,
            "confidence": self.confidence,
            "resolved_by": self.resolved_by,
        }


def has_value(item: Item) -> bool:
    return item.question_type in ("multiple_choice", "rating")


def resolve(
    item: Item,
    answer: str,
    reasks: int,
    proposed: Any = None,
    confidence: Any = None,
) -> Resolution | None:
    """The answer's value for a choice or rating item (None for open-ended ones): the
    runtime's own matching first, else the model's `proposed` mapping when it names a valid
    value with enough `confidence`; nothing valid is `invalid` while re-asks remain
    (`reasks`: used so far), then `unresolved`."""
    if not has_value(item):
        return None
    ruled = _valid(item, answer, strict=False)
    if ruled is not None:
        return Resolution(ruled, "resolved", 1.0, "rule")
    sure = _confidence(confidence)
    if proposed is not None and sure is not None and sure >= MIN_CONFIDENCE:
        mapped = _valid(item, str(proposed), strict=True)
        if mapped is not None:
            return Resolution(mapped, "resolved", sure, "model")
    return Resolution(None, "invalid" if reasks < MAX_REASKS else "unresolved")


def _valid(item: Item, text: str, strict: bool) -> str | int | None:
    if item.question_type == "multiple_choice":
        options = item.options or []
        return _exact_option(text, options) if strict else match_option(text, options)
    return match_rating(text, item.scale or DEFAULT_SCALE)


def _confidence(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return round(value, 3) if 0.0 <= value <= 1.0 else None


def _exact_option(text: str, options: list[str]) -> str | None:
    """A model's value: an option's label (any case) or its number, nothing looser."""
    cleaned = text.strip().strip(".!").casefold()
    if cleaned.isdecimal() and len(cleaned) <= 3 and 1 <= int(cleaned) <= len(options):
        return options[int(cleaned) - 1]
    return next((o for o in options if o.casefold() == cleaned), None)


def match_option(answer: str, options: list[str]) -> str | None:
    """The option an answer names: its number, its label, or the one label it mentions."""
    exact = _exact_option(answer, options)
    if exact is not None:
        return exact
    # "2 — we started on the free plan…": a leading option number, then the reasons.
    lead = re.match(r"\s*(\d{1,3})\b(?![.,]?\d)", answer)
    if lead and 1 <= int(lead.group(1)) <= len(options):
        return options[int(lead.group(1)) - 1]
    cleaned = answer.strip().casefold()
    # "Pro, for the whole team": a leading label set off from the reasons after it ("a or b"
    # is no choice); longest label first.
    for option in sorted(options, key=len, reverse=True):
        if re.match(rf"{re.escape(option.casefold())}\s*(?:[,.;:!\u2014\u2013-]|$)", cleaned):
            return option
    mentioned = [o for o in options if re.search(rf"\b{re.escape(o.casefold())}\b", cleaned)]
    return mentioned[0] if len(mentioned) == 1 else None


def match_rating(answer: str, scale: Scale) -> int | None:
    # "4 out of 5", "4/5": the scale's top named after the rating is not a second number.
    answer = re.sub(rf"(\d)\s*(?:/|out of|of)\s*{scale.max}\b", r"\1", answer)
    numbers = re.findall(r"-?\d+", answer)
    # Any script's digits count ("٣" is 3); a number too long for any scale is no rating,
    # and would pass int()'s 4,300-digit limit.
    if len(numbers) != 1 or len(numbers[0]) > 6:
        return None
    value = int(numbers[0])
    return value if scale.min <= value <= scale.max else None


def is_non_answer(answer: str) -> bool:
    """An answer that says nothing (ok, idk, yes, no…): invited to say more, not probed on."""
    return _normalised(answer) in _NON_ANSWERS


def is_thin(answer: str, question: str = "") -> bool:
    """Thin for this question: a non-answer, or fewer than THIN_OWN_WORDS words of its own
    (words that are neither filler nor the question's own words)."""
    if is_non_answer(answer):
        return True
    asked = set(_words(question))
    own = [w for w in _words(answer) if w not in _STOPWORDS and w not in asked]
    return _weight(own) < THIN_OWN_WORDS


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().strip(" .!?¡¿…").split())


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'\u2019-]+", _normalised(text))


def _weight(words: list[str]) -> float:
    """How many words these are, counting unspaced scripts two characters to the word."""
    total = 0.0
    for word in words:
        if word and any(unicodedata.name(c, "").startswith(_UNSPACED) for c in word[:1]):
            total += len(word) / 2
        else:
            total += 1
    return total
