"""A finding's title key: the normal form two titles share when they name the same finding."""

from __future__ import annotations

from runtime.analysis import quotes

# Trimmed from both ends: a trailing full stop or wrapping quotes do not make a new finding.
_TRIMMED = " .,;:!?-'()[]{}*_"


def title_key(title: str) -> str:
    """The title as quotes are compared (NFKC, quotes and dashes unified, whitespace collapsed,
    case folded; runtime.analysis.quotes.normalise), with punctuation trimmed from its ends."""
    return quotes.normalise(title).text.strip(_TRIMMED)
