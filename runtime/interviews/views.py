"""Interviews as the API shows them: to researchers (with session counts) and to respondents."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from runtime.interviews.voice import IDLE_REPROMPT_SECONDS, SPEAKING_RATE
from runtime.languages.tags import Direction
from runtime.platform.views import Meta, Timestamp, View
from runtime.vocabulary import Modality
from runtime.voice.listening import Eagerness

InterviewStatus = Literal["draft", "active", "paused", "closed"]
STATUSES: tuple[InterviewStatus, ...] = get_args(InterviewStatus)
# Which interviewer runs its sessions (runtime.engines).
InterviewEngine = Literal["scripted", "llm"]
ENGINES: tuple[InterviewEngine, ...] = get_args(InterviewEngine)

# Why an interview closed: a researcher closed it, or it closed by itself on reaching its
# participants_needed or saturation (runtime.analysis.autoclose).
CloseReason = Literal["manual", "participants_needed", "saturated"]
# The largest participants_needed a researcher may set.
MAX_PARTICIPANTS_NEEDED = 100_000

# What retention_days may be (runtime.erasure.retention erases by it).
RETENTION_DAYS = (1, 3650)


class SessionCounts(View):
    """Session counts by status (test sessions are not counted)"""

    # One count per runtime.vocabulary.SessionStatus (service.session_counts_view).
    total: Annotated[int, Meta(description="All non-test sessions", ge=0)]
    in_progress: Annotated[int, Meta(description="Sessions that are in_progress", ge=0)]
    completed: Annotated[int, Meta(description="Sessions that are completed", ge=0)]
    abandoned: Annotated[int, Meta(description="Sessions that are abandoned", ge=0)]


class Interview(View):
    id: str
    title: str
    goal: str
    context: str
    tone: str
    language: Annotated[str, Meta(description="BCP 47 language tag")]
    welcome_message: str
    closing_message: str
    engine: InterviewEngine
    retention_days: Annotated[
        Annotated[int, Meta(ge=RETENTION_DAYS[0], le=RETENTION_DAYS[1])] | None,
        Meta(
            description="Finished sessions are erased this many days after they ended (null: "
            "kept for ever); in-progress ones never"
        ),
    ]
    max_duration_minutes: Annotated[int, Meta(ge=1)] | None
    max_turns: Annotated[int, Meta(ge=2)] | None
    anonymous: Annotated[bool, Meta(description="Respondent identity is not kept or shown")]
    model: Annotated[
        str | None,
        Meta(
            description="LLM engine: the model for this interview (null: the deployment's "
            "RAPPORT_LLM_MODEL)"
        ),
    ]
    temperature: Annotated[
        Annotated[float, Meta(ge=0, le=2)] | None,
        Meta(description="LLM engine: sampling temperature (null: RAPPORT_LLM_TEMPERATURE)"),
    ]
    participants_needed: Annotated[
        Annotated[int, Meta(ge=1, le=MAX_PARTICIPANTS_NEEDED)] | None,
        Meta(
            description="Close by itself once this many completed (non-test) sessions are in "
            "(interview.closed with reason participants_needed); null: never"
        ),
    ]
    close_when_saturated: Annotated[
        bool,
        Meta(
            description="Close by itself when a session completes and saturation "
            "(GET …/saturation, default parameters) says saturated (reason saturated)"
        ),
    ]
    modes: Annotated[
        list[Modality],
        Meta(
            description="How respondents may take part: text, voice, or both (they may "
            'switch at any time when both are on); non-empty, no repeats; default ["text"]',
            min_length=1,
            max_length=2,
        ),
    ]
    voice: Annotated[
        str | None,
        Meta(
            description="Voice mode: the interviewer's voice name (null: the deployment's "
            "RAPPORT_TTS_VOICE, or for the local engine the espeak-ng voice of the "
            "interview's language)"
        ),
    ]
    speaking_rate: Annotated[
        float,
        Meta(
            description="Voice mode: the interviewer's pace (1.0 normal, 2.0 twice as fast)",
            ge=SPEAKING_RATE[0],
            le=SPEAKING_RATE[1],
        ),
    ]
    eagerness: Annotated[
        Eagerness,
        Meta(
            description="Voice mode: how soon silence ends the respondent's turn: relaxed "
            "1.2 s, normal 0.7 s, brisk 0.4 s"
        ),
    ]
    idle_reprompt_seconds: Annotated[
        Annotated[int, Meta(ge=IDLE_REPROMPT_SECONDS[0], le=IDLE_REPROMPT_SECONDS[1])] | None,
        Meta(
            description="Voice mode: seconds of the respondent's silence before the "
            "interviewer prompts again (null: never)"
        ),
    ]
    record_session: Annotated[
        bool,
        Meta(
            description="Voice mode: keep a stereo recording of the whole session "
            "(respondent left, interviewer right) beside each turn's own audio"
        ),
    ]
    status: InterviewStatus
    share_token: Annotated[str, Meta(description="The token in the respondent link")]
    guide_version: Annotated[
        int, Meta(description="The latest published guide version (0 before publishing)", ge=0)
    ]
    created_at: Timestamp
    updated_at: Timestamp
    session_counts: SessionCounts


class PublicInterview(View):
    """What the respondent page needs before starting"""

    title: str
    language: str
    direction: Annotated[
        Direction, Meta(description="Which way the language is written: the page's `dir`")
    ]
    status: InterviewStatus
    accepting_sessions: Annotated[bool, Meta(description="True when the interview is active")]
    anonymous: bool
    modes: Annotated[
        list[Modality],
        Meta(description="How the respondent may take part: text, voice, or both"),
    ]
    eagerness: Annotated[
        Eagerness,
        Meta(description="Voice mode: how soon silence ends the respondent's turn"),
    ]
