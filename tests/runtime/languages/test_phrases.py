"""Every catalog says every runtime phrase, keeps its placeholders, and is found by its tag."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from runtime.languages import phrases
from runtime.languages.phrases import Phrases

REQUIRED = ("en", "es", "fr", "de", "pt", "it", "nl", "ja", "zh", "ko", "ar", "he")


class Recording(Phrases):
    """English phrases that remember each msgid asked for."""

    def __init__(self) -> None:
        super().__init__("en")
        object.__setattr__(self, "asked", [])

    def _(self, english: str, **values: str) -> str:
        self.asked.append(english)  # type: ignore[attr-defined]
        return super()._(english, **values)


def _msgids() -> list[str]:
    """Every msgid the runtime says, read off the Phrases methods themselves."""
    recording = Recording()
    for name in dir(Phrases):
        method = getattr(recording, name)
        if name.startswith("_") or not callable(method):
            continue
        arguments = method.__code__.co_varnames[1 : method.__code__.co_argcount]
        method(*(f"<{a}>" for a in arguments))
    return recording.asked  # type: ignore[attr-defined, no-any-return]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_required_language_has_a_catalog() -> None:
    assert set(REQUIRED) <= set(phrases.languages())


@pytest.mark.parametrize("language", [lang for lang in REQUIRED if lang != "en"])
def test_a_catalog_translates_every_phrase_with_its_placeholders(language: str) -> None:
    path = phrases.LOCALES / f"{language}.po"
    with Path(path).open("rb") as handle:
        catalog = read_po(handle)
    assert str(catalog.locale) == language
    msgids = _msgids()
    assert len(msgids) >= 7
    for msgid in msgids:
        message = catalog.get(msgid)
        assert message is not None and message.string, f"{language}: {msgid!r} untranslated"
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        assert _fields(message.string) == _fields(msgid), f"{language}: {msgid!r}"
        assert message.string != msgid, f"{language}: {msgid!r} left in English"
    # No catalog keeps a phrase the runtime no longer says.
    assert {m.id for m in catalog if m.id} == set(msgids)


def test_a_tag_finds_its_languages_catalog_and_an_unknown_one_speaks_english() -> None:
    assert phrases.for_language("pt-BR").language == "pt"
    assert phrases.for_language("zh-Hant-TW").language == "zh"
    assert phrases.for_language("fr-CA").bridge("Q1?") == "Merci. Q1?"
    assert phrases.for_language("ja").scale_hint("1", "5") == "1から5までの数字でお答えください。"
    assert phrases.for_language("sw").language == "en"  # CLDR knows it; we have no catalog
    assert phrases.for_language("not a tag").probe() == "Could you tell me a bit more about that?"


def test_english_is_the_source_text() -> None:
    english = phrases.for_language("en")
    assert english.reask_number("Please answer.") == (
        "Sorry, I need a number for this one. Please answer."
    )
    assert re.fullmatch(r"Thank you\. \? ", english.bridge("? "))
