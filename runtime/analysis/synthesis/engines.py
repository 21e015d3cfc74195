"""Which engine a synthesis runs with: the offline one, or the LLM one over it when configured."""

from __future__ import annotations

from openai import AsyncOpenAI

from runtime.analysis.drafts import SynthesisEngine
from runtime.analysis.synthesis.llm import LLMSynthesis
from runtime.analysis.synthesis.pipeline import EngineFactory, InterviewFacts
from runtime.analysis.themes.offline import OfflineEngine
from runtime.analysis.vocabulary import EngineName
from runtime.engines import upstream
from runtime.platform.errors import ValidationError
from runtime.platform.settings import Settings
from runtime.stores.database import Database


def default(settings: Settings) -> EngineName:
    """The LLM engine when the interviewer's upstream is configured, else the offline one."""
    return "llm" if upstream.configured(settings) else "offline"


def check(name: EngineName, settings: Settings) -> None:
    if name == "llm" and not upstream.configured(settings):
        raise ValidationError(f"the LLM engine needs an upstream: {upstream.SETUP}", field="engine")


def factory(db: Database, settings: Settings, client: AsyncOpenAI) -> EngineFactory:
    def engine_for(name: EngineName, facts: InterviewFacts) -> SynthesisEngine:
        offline = OfflineEngine(db, language=facts.language)
        if name == "offline":
            return offline
        return LLMSynthesis(offline, client, settings.llm_model, facts.title, facts.goal)

    return engine_for
