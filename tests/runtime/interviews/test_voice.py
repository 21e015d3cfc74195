"""Refusing a way of taking part an interview does not offer, and reading its voice settings."""

from __future__ import annotations

import pytest

from runtime.interviews import voice
from runtime.platform.errors import ValidationError


def test_require_mode_refuses_what_the_interview_does_not_take() -> None:
    text_only = {"modes": ["text"]}
    voice.require_mode(text_only, "text")
    with pytest.raises(voice.ModeNotEnabled) as refused:
        voice.require_mode(text_only, "voice")
    assert isinstance(refused.value, ValidationError)
    assert (refused.value.code, refused.value.status) == ("mode_not_enabled", 400)
    assert str(refused.value) == "this interview does not take voice; it takes text"
    voice.require_mode({"modes": ["voice"]}, "voice")
    with pytest.raises(voice.ModeNotEnabled, match="it takes voice"):
        voice.require_mode({"modes": ["voice"]}, "text")


def test_rows_without_settings_are_text_only_with_the_defaults() -> None:
    # A row read before migration 0006 (or a dict without the columns).
    found = voice.settings_of({"title": "Old"})
    assert found == voice.VoiceSettings(("text",), None, 1.0, "normal", 15, False)
    with pytest.raises(voice.ModeNotEnabled):
        voice.require_mode({"modes": None}, "voice")
    spoken = voice.settings_of(
        {"modes": ["voice", "text"], "voice": "fr", "speaking_rate": 0.75,
         "eagerness": "brisk", "idle_reprompt_seconds": 30, "record_session": True}
    )  # fmt: skip
    assert spoken == voice.VoiceSettings(("voice", "text"), "fr", 0.75, "brisk", 30, True)
