"""What respondents wrote, made harmless for the documents that show it: text, CSV, Markdown.

The JSON export keeps exactly what was said; these are for documents a person opens in a
terminal, a spreadsheet or a Markdown viewer, where text can act (docs/exports.md).
"""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T")

_LINE_BREAK = re.compile(r"\r\n?")
# C0 controls but tab and newline (ESC starts every ANSI escape), DEL, C1, and lone
# surrogates (which no store holds now, but a row from before might).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures: ␀ … ␛ … ␟
    return "\u2421" if code == 0x7F else "\ufffd"  # ␡, or � for C1 and surrogates


def plain(value: str) -> str:
    """Line breaks as `\\n` (`\\r\\n` and a lone `\\r` too), tabs kept, and every other control
    character drawn as its symbol: "\\x1b[31m" shows as "␛[31m" and colours nothing."""
    return _CONTROL.sub(_visible, _LINE_BREAK.sub("\n", value))


# OWASP's formula triggers, and their full-width forms; and a plain number is no formula.
_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def csv_cell(value: T) -> T | str:
    """A CSV cell no spreadsheet evaluates: text whose first character, or first after
    leading white space, is = + - or @ (or which starts with a tab or line break) gets a
    leading apostrophe, which spreadsheets take as "this is text". A plain number ("-5",
    "+3.5") stays as it is; "+1 555 0100" becomes "'+1 555 0100". Non-text passes."""
    if not isinstance(value, str):
        return value
    text = plain(value)
    if _NUMBER.fullmatch(text):
        return text
    stripped = text.lstrip()
    if text[:1] in ("\t", "\n") or stripped[:1] in _FORMULA_START:
        return "'" + text
    return text


# Escaped wherever they are: emphasis, code, links and images, raw HTML and entities,
# tables, strikethrough, maths; `\` first so that no escape of ours is undone.
_MD_ANYWHERE = re.compile(r"[\\`*_\[\]<>&|~$]")
# Block structure only at the start of a line: headings, list items, setext underlines.
_MD_LINE_START = re.compile(r"^(\s*)(#|[+=-]|[0-9]{1,9}(?=[.)]))")
# What GitHub's renderer links without any markup: scheme:// and www. (an e-mail address
# it links too, showing exactly the address; nothing here can make a link say otherwise).
_MD_BARE_LINK = re.compile(r"(?<=[A-Za-z])(://)|\b(www)(\.)", re.IGNORECASE)


def md_line(value: str) -> str:
    """One line of text that Markdown shows as typed, never as structure of its own."""
    out = _MD_ANYWHERE.sub(lambda m: "\\" + m[0], value)
    out = _MD_LINE_START.sub(_escape_start, out)
    return _MD_BARE_LINK.sub(
        lambda m: "\\" + m[1] if m[1] else f"{m[2]}\\{m[3]}",
        out,
    )


def _escape_start(match: re.Match[str]) -> str:
    space, marker = match[1], match[2]
    if marker[0].isdigit():
        return f"{space}{marker}\\"  # "1." and "1)" start ordered lists: escape the dot
    return f"{space}\\{marker}"


def md_inline(value: str) -> str:
    """A value on one line (a title, a name): line breaks become spaces."""
    return md_line(plain(value).replace("\n", " "))


def md_quote(value: str) -> list[str]:
    """A block quote whose every line stays inside it: `>` on each, blank lines too."""
    return ["> " + md_line(line) if line else ">" for line in plain(value).split("\n")]
