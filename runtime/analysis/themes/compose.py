"""From the assignment pass's tally to a draft's themes, divergent views and summary.

A theme is shown when at least min_participants(sessions) participants carry it (the
others are dropped like the outlier bucket). Its sentiment follows sentiment.theme_sentiment
over its participants' leanings. A divergent view is a theme where at least
MIN_SIDE_PARTICIPANTS participants lean positive and as many lean negative.
"""

from __future__ import annotations

import math

from runtime.analysis.drafts import DivergentDraft, ProposedQuote, ThemeDraft, ViewSide
from runtime.analysis.themes import labels, sentiment
from runtime.analysis.themes.tally import Candidate, Tally, ThemeTally, best

MAX_QUOTES_PER_THEME = 5
MAX_QUOTES_PER_SIDE = 3
MIN_SIDE_PARTICIPANTS = 2
# A theme needs MIN_THEME_SHARE of the sessions, and never fewer than
# MIN_THEME_PARTICIPANTS: two respondents make a small corpus's theme.
MIN_THEME_PARTICIPANTS = 2
MIN_THEME_SHARE = 0.05
# Themes named in the summary.
SUMMARY_THEMES = 3


def min_participants(sessions: int) -> int:
    return max(MIN_THEME_PARTICIPANTS, math.ceil(MIN_THEME_SHARE * sessions))


def _quotes(found: list[Candidate]) -> tuple[ProposedQuote, ...]:
    return tuple(ProposedQuote(c.session_id, c.message_id, c.text) for c in found)


def _ordered(participants: dict[str, int], among: set[str] | None = None) -> tuple[str, ...]:
    chosen = [(n, s) for s, n in participants.items() if among is None or s in among]
    return tuple(s for _, s in sorted(chosen))


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def themes(
    tally: Tally, vocabulary: list[str], sessions: int
) -> tuple[list[ThemeDraft], list[DivergentDraft]]:
    weights = labels.ctfidf(tally.counts)
    floor = min_participants(sessions)
    shown: list[tuple[ThemeDraft, ThemeTally]] = []
    for index, theme in enumerate(tally.themes):
        if len(theme.participants) < floor:
            continue
        title = labels.title(weights[index], tally.counts[index], vocabulary)
        keywords = tuple(labels.top_terms(weights[index], vocabulary, labels.KEYWORDS_PER_THEME))
        leans = [sentiment.lean(theme.lean(s)) for s in theme.participants]
        count = len(theme.participants)
        draft = ThemeDraft(
            title=title,
            description=(
                f"{count} participants ({_percent(count, sessions)}%) talked about "
                f"{title.lower()}; typical words: {', '.join(keywords)}."
            ),
            sentiment=sentiment.theme_sentiment(
                leans.count("positive"), leans.count("negative"), count
            ),
            keywords=keywords,
            session_ids=_ordered(theme.participants),
            mentions=theme.mentions,
            quotes=_quotes(best(theme.central, MAX_QUOTES_PER_THEME)),
        )
        shown.append((draft, theme))
    shown.sort(key=lambda d: (-len(d[0].session_ids), d[0].title, d[0].session_ids))
    views = [
        view for i, (draft, theme) in enumerate(shown) if (view := _divergent(i, draft, theme))
    ]
    return [d for d, _ in shown], views


def _divergent(index: int, draft: ThemeDraft, theme: ThemeTally) -> DivergentDraft | None:
    lean = {s: sentiment.lean(theme.lean(s)) for s in theme.participants}
    positive = {s for s, v in lean.items() if v == "positive"}
    negative = {s for s, v in lean.items() if v == "negative"}
    if len(positive) < MIN_SIDE_PARTICIPANTS or len(negative) < MIN_SIDE_PARTICIPANTS:
        return None
    subject = draft.title.lower()
    return DivergentDraft(
        title=f"{draft.title}: views differ",
        description=(
            f"{len(positive)} participants spoke well of {subject}, "
            f"{len(negative)} spoke badly of it."
        ),
        theme_index=index,
        sides=(
            ViewSide(
                "positive",
                _ordered(theme.participants, positive),
                _quotes(best(theme.positive, MAX_QUOTES_PER_SIDE, positive)),
            ),
            ViewSide(
                "negative",
                _ordered(theme.participants, negative),
                _quotes(best(theme.negative, MAX_QUOTES_PER_SIDE, negative)),
            ),
        ),
    )


def summary(sessions: int, found: list[ThemeDraft], views: list[DivergentDraft]) -> str:
    if sessions == 0:
        return "No sessions to analyse yet."
    if not found:
        return (
            f"{sessions} sessions were analysed; no theme was shared by at least "
            f"{min_participants(sessions)} participants."
        )
    named = "; ".join(
        f"{t.title} ({len(t.session_ids)} participants, {_percent(len(t.session_ids), sessions)}%)"
        for t in found[:SUMMARY_THEMES]
    )
    text = (
        f"{sessions} sessions were analysed and {len(found)} themes found. "
        f"The most common: {named}."
    )
    if views:
        text += f" Views differ on {', '.join(v.title.split(':')[0] for v in views)}."
    return text
