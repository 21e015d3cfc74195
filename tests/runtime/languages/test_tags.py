"""An interview's language is a BCP 47 tag CLDR knows, stored canonically."""

from __future__ import annotations

import pytest

from runtime.languages import tags
from runtime.platform.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("en", "en"),
        ("PT-br", "pt-BR"),
        (" zh-hant-tw ", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sr-Latn", "sr-Latn"),
        ("he", "he"),
    ],
)
def test_a_known_tag_is_stored_canonically(given: str, stored: str) -> None:
    assert tags.canonical(given) == stored


@pytest.mark.parametrize("given", ["string", "", "en_US", "x-klingon", "und", "tlh", "e", "en--US"])
def test_anything_else_is_a_validation_error_naming_the_field(given: str) -> None:
    with pytest.raises(ValidationError) as caught:
        tags.canonical(given)
    assert caught.value.field == "language"
    assert "BCP 47" in caught.value.message


def test_the_direction_of_writing() -> None:
    assert tags.direction("ar-EG") == "rtl"
    assert tags.direction("he") == "rtl"
    assert tags.direction("en") == "ltr"
    assert tags.direction("not a tag") == "ltr"
