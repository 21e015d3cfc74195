"""BCP 47 language tags: an interview's `language` is one that CLDR knows, written canonically."""

from __future__ import annotations

from typing import Literal

from babel import Locale, UnknownLocaleError

from runtime.platform.errors import ValidationError

Direction = Literal["ltr", "rtl"]


def locale(tag: str) -> Locale:
    """The CLDR locale a tag names (`pt-BR`, `zh-Hant-TW`, `es-419`, …), or ValueError."""
    try:
        return Locale.parse(tag.strip(), sep="-")
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


def canonical(tag: str, field: str = "language") -> str:
    """`tag` as a canonical BCP 47 tag (language lower case, script title case, region upper
    case: `PT-br` is `pt-BR`); a tag CLDR does not know is a validation_error naming `field`.

    `und` (undetermined) and private-use tags are refused too: the interviewer must know
    which language to speak."""
    text = tag.strip()
    if text.lower().split("-", 1)[0] in ("und", "x", "i"):
        raise ValidationError(f"{field} must name a language (BCP 47), not {text!r}", field=field)
    try:
        found = locale(text)
    except ValueError:
        raise ValidationError(
            f"{field} must be a BCP 47 language tag such as en, pt-BR or zh-Hant, not {text!r}",
            field=field,
        ) from None
    parts = [found.language, found.script, found.territory, found.variant]
    return "-".join(p for p in parts if p)


def direction(tag: str) -> Direction:
    """Which way the language is written (a page sets `dir` from it); ltr when unknown."""
    try:
        return "rtl" if locale(tag).text_direction == "rtl" else "ltr"
    except ValueError:
        return "ltr"
