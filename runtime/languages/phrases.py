"""What the runtime itself says (probes, re-asks, bridges, closings, the apology), in the
interview's language, from the gettext catalogs in `locales/`.

English is the source: each phrase's msgid is its English text. A language without a
catalog (or a phrase a catalog lacks) is said in English; a tag with a region or script
falls back to its language's catalog (`pt-BR` → `pt`, `zh-Hant` → `zh`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from runtime.languages.tags import locale

LOCALES = Path(__file__).with_name("locales")


@cache
def _catalog(language: str) -> dict[str, str]:
    """msgid → translation of one catalog; empty for a language without one."""
    path = LOCALES / f"{language}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def languages() -> tuple[str, ...]:
    """The languages with a catalog, English (the source) first."""
    return ("en", *sorted(p.stem for p in LOCALES.glob("*.po")))


@dataclass(frozen=True)
class Phrases:
    """The runtime's phrases in one language (`for_language`)."""

    language: str  # the catalog's language: `en` when the tag's has none

    def _(self, english: str, **values: str) -> str:
        text = _catalog(self.language).get(english, english) if self.language != "en" else english
        return text.format(**values) if values else text

    def probe(self) -> str:
        """Asked after a thin answer when the item has no follow-up of its own."""
        return self._("Could you tell me a bit more about that?")

    def bridge(self, question: str) -> str:
        """From an answer to the next question."""
        return self._("Thank you. {question}", question=question)

    def revisit(self, question: str) -> str:
        """Before closing, a required question that got no valid answer, asked once more."""
        return self._("Before we finish, one earlier question: {question}", question=question)

    def reask_option(self, options: str) -> str:
        return self._(
            "Sorry, I didn't catch which option you mean. Please choose one of: {options}",
            options=options,
        )

    def reask_number(self, hint: str) -> str:
        return self._("Sorry, I need a number for this one. {hint}", hint=hint)

    def scale_hint(self, low: str, high: str) -> str:
        return self._("Please answer with a number from {low} to {high}.", low=low, high=high)

    def rephrase(self) -> str:
        """Between words a failed attempt at a turn already sent and a retry that says it
        differently (runtime.engines.splice)."""
        return self._("sorry, let me put that another way.")

    def closing(self) -> str:
        """The closing turn of an interview that has no closing message of its own."""
        return self._("Thank you for your time — that's everything I wanted to ask.")

    def reprompt(self) -> str:
        """Spoken (voice mode) when the respondent has been silent a while after a question."""
        return self._("Take your time. I'm listening whenever you're ready.")

    def apology(self) -> str:
        """The turn that ends a session the interviewer could not go on with."""
        return self._(
            "I'm sorry — something went wrong on our side and we have to stop the "
            "conversation here. Thank you very much for your time."
        )


@cache
def for_language(tag: str) -> Phrases:
    """The phrases for an interview's language tag: its language's catalog, else English."""
    try:
        language = locale(tag).language
    except ValueError:
        return Phrases("en")
    return Phrases(language if language in languages() else "en")
