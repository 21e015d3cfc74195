"""What a synthesis report says alike in Markdown and in PDF: provenance, prevalence, references."""

from __future__ import annotations

from runtime.analysis.synthesis.views import Quote, Synthesis, SynthesisCounts, Theme
from runtime.platform.clock import readable

ENGINE_LABEL = {"offline": "offline engine", "llm": "LLM engine"}


def heading(interview_title: str) -> str:
    return f"Synthesis: {interview_title}"


def provenance(s: Synthesis) -> str:
    """Which engine made it, when, from how many sessions chosen how."""
    parts = [f"Made by the {ENGINE_LABEL.get(s.engine, s.engine)}"]
    if s.model:
        parts.append(f"model {s.model}")
    if s.generated_at is not None:
        parts.append(f"generated {readable(s.generated_at)}")
    else:
        parts.append(f"{s.status}, asked for {readable(s.created_at)}")
    if s.session_count is not None:
        parts.append(f"{s.session_count} session{'' if s.session_count == 1 else 's'}")
    return " · ".join(parts)


def filters(s: Synthesis) -> str:
    f = s.filters
    statuses = ", ".join(f.statuses) if f.statuses else "any status"
    since = f"started since {readable(f.since)}" if f.since is not None else "any start"
    test = "test sessions included" if f.include_test else "test sessions left out"
    return f"Sessions: {statuses}; {since}; {test}"


def prevalence(count: int, session_count: int | None, share: float) -> str:
    """Counted in participants, never in mentions: "12 of 30 participants (40%)"."""
    noun = "participant" if count == 1 and not session_count else "participants"
    if not session_count:
        return f"{count} {noun}"
    return f"{count} of {session_count} {noun} ({round(share * 100)}%)"


def theme_facts(t: Theme, session_count: int | None) -> list[tuple[str, str]]:
    return [
        ("Sentiment", t.sentiment),
        ("Prevalence", prevalence(t.prevalence, session_count, t.prevalence_share)),
        ("Mentions", f"{t.mentions} message{'' if t.mentions == 1 else 's'}"),
        ("Keywords", ", ".join(t.keywords) if t.keywords else "none"),
    ]


def side_prevalence(count: int) -> str:
    return f"{count} participant{'' if count == 1 else 's'}"


def reference(q: Quote) -> str:
    """Where the words are: the participant, then the session and message they were said in."""
    return f"{q.participant} · session {q.session_id}, message {q.message_id}"


def counts(c: SynthesisCounts) -> list[tuple[str, str]]:
    return [
        ("Quotes shown", str(c.quotes_shown)),
        ("Quotes dropped", f"{c.quotes_dropped} (proposed, but not found in the stored messages)"),
        ("Sessions read", str(c.sessions_read)),
        ("Sessions reused", f"{c.sessions_reused} (unchanged since an earlier run)"),
    ]
