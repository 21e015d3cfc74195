"""The words the analysis packages share: engines, sentiments, synthesis statuses, findings."""

from __future__ import annotations

from typing import Literal, get_args

# Which engine made a report: the offline, deterministic one, or the configured LLM's.
EngineName = Literal["offline", "llm"]
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)
Sentiment = Literal["positive", "negative", "neutral", "mixed"]
SENTIMENTS: tuple[Sentiment, ...] = get_args(Sentiment)
SynthesisStatus = Literal["queued", "running", "completed", "failed"]
SYNTHESIS_STATUSES: tuple[SynthesisStatus, ...] = get_args(SynthesisStatus)
FindingType = Literal["theme", "hypothesis", "contradiction", "pattern", "insight"]
FINDING_TYPES: tuple[FindingType, ...] = get_args(FindingType)
# A finding's standing, from first seen to confirmed by every new session (Qual's scale).
FindingStatus = Literal["emerging", "developing", "established", "saturated", "rejected"]
FINDING_STATUSES: tuple[FindingStatus, ...] = get_args(FindingStatus)
Priority = Literal["low", "medium", "high", "critical"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
