"""A sentence's content words: folded, stopwords and interview chatter dropped, any script.

Words are NFKC-folded `\\w+` runs, with their apostrophes ("don't" is one stopword).
Stopwords are yake's list for the interview's language (yake ships 34; nothing is fetched
at run time), scikit-learn's English list for English, and CHATTER (what respondents say
around an answer; English and German so far). English plurals are folded to the singular
("batteries" -> "battery") so paraphrases meet; nothing else is stemmed, so titles stay
readable. Scripts written without spaces (Han, kana) are cut into overlapping character
pairs, the usual unit for CJK retrieval.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

# Interview small talk, by language: content-free in any study, so never a theme's word
# (fillers, hedges, "I don't know", "nothing else comes to mind", "most of the time"; a
# topic of time is still found by its other words: "takes too long", "saves me hours").
CHATTER = {
    "en": frozenset(
        "yeah yes yep ok okay hmm um uh well really actually just like guess think know sure "
        "thing things stuff lot lots bit kind sort maybe probably pretty quite question "
        "questions answer interview thanks thank good great fine nice mind else honestly "
        "basically literally totally definitely time times".split()
    ),
    "de": frozenset(
        "ja nein jein hmm äh ähm also halt mal eben eigentlich wirklich genau okay ok gut "
        "weiß weiss glaube denke meine vielleicht wohl sonst mehr nichts fällt ein lassen "
        "überlegen frage fragen antwort interview danke fast schon immer sehr ganz oft nie "
        "einmal zweimal".split()
    ),
}
# Shorter words (in characters) are dropped, outside scripts written without spaces.
MIN_TERM_CHARS = 2

_WORD = re.compile(r"\w+(?:'\w+)*")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@cache
def stopwords(language: str) -> frozenset[str]:
    """The stopwords of a language (a BCP 47 tag), with CHATTER; English gets both lists."""
    code = language.split("-", 1)[0].casefold()
    words = set(CHATTER.get(code, ()))
    folder = resources.files("yake") / "core" / "StopwordsList"
    listed = folder / f"stopwords_{code}.txt"
    if listed.is_file():
        text = listed.read_text(encoding="utf-8")
        words.update(unicodedata.normalize("NFKC", w).casefold() for w in text.split())
    if code == "en":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        words.update(ENGLISH_STOP_WORDS)
    return frozenset(words)


def terms(sentence: str, language: str) -> tuple[str, ...]:
    """The sentence's content words, in order (duplicates kept: they are term frequency)."""
    stop = stopwords(language)
    english = language.split("-", 1)[0].casefold() == "en"
    out: list[str] = []
    for word in _WORD.findall(
        unicodedata.normalize("NFKC", sentence).casefold().replace("\u2019", "'")
    ):
        if word.isdigit() or word in stop:
            continue
        if _UNSPACED.search(word):
            out.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
            continue
        if len(word) < MIN_TERM_CHARS or "_" in word or "'" in word:
            continue
        out.append(_singular(word) if english else word)
    return tuple(out)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
