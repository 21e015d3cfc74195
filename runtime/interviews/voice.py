"""An interview's voice-mode settings: their limits and defaults, and refusing a mode it lacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.platform.errors import ValidationError
from runtime.vocabulary import MODALITIES, Modality
from runtime.voice.listening import END_OF_TURN_MS, Eagerness

EAGERNESS: tuple[Eagerness, ...] = tuple(END_OF_TURN_MS)
SPEAKING_RATE = (0.5, 2.0)
IDLE_REPROMPT_SECONDS = (5, 300)
VOICE_NAME_CHARS = 100
# The columns (runtime.stores.schema.interviews) and what a new interview gets.
DEFAULTS: dict[str, Any] = {
    "modes": ["text"],
    "voice": None,
    "speaking_rate": 1.0,
    "eagerness": "normal",
    "idle_reprompt_seconds": 15,
    "record_session": False,
}
FIELDS = tuple(DEFAULTS)


class ModeNotEnabled(ValidationError):
    """A session asked for a way of taking part (voice, text) its interview does not offer."""

    code = "mode_not_enabled"


@dataclass(frozen=True)
class VoiceSettings:
    """What a voice session reads of its interview."""

    modes: tuple[Modality, ...]
    voice: str | None
    speaking_rate: float
    eagerness: Eagerness
    idle_reprompt_seconds: int | None
    record_session: bool


def modes_of(interview: Mapping[str, Any]) -> tuple[Modality, ...]:
    """The interview's modes as stored (["text"] when none are: rows before voice mode)."""
    stored = interview.get("modes") or DEFAULTS["modes"]
    return tuple(m for m in stored if m in MODALITIES)


def settings_of(interview: Mapping[str, Any]) -> VoiceSettings:
    """The voice settings of an interview's row (its `_mapping`, or a dict)."""
    return VoiceSettings(
        modes=modes_of(interview),
        voice=interview.get("voice"),
        speaking_rate=float(interview.get("speaking_rate") or DEFAULTS["speaking_rate"]),
        eagerness=interview.get("eagerness") or DEFAULTS["eagerness"],
        # Absent (a dict without the column) is the default; a stored null is off.
        idle_reprompt_seconds=interview.get(
            "idle_reprompt_seconds", DEFAULTS["idle_reprompt_seconds"]
        ),
        record_session=bool(interview.get("record_session")),
    )


def require_mode(interview: Any, mode: Modality) -> None:
    """Refuse `mode` (ModeNotEnabled, 400 mode_not_enabled) unless the interview offers it.
    `interview` is its row, the row's mapping, or a dict of its columns."""
    row = interview._mapping if hasattr(interview, "_mapping") else interview
    if mode not in modes_of(row):
        offered = " and ".join(modes_of(row))
        raise ModeNotEnabled(f"this interview does not take {mode}; it takes {offered}")
