"""The quality harness in a small run: both engines, every persona, through the real server."""

from __future__ import annotations

from typing import Any

import pytest

from bench.interviewer import MODELS, EngineSpec, render, run_harness
from bench.personas import PERSONAS
from bench.quality import invariants
from tests.conftest import Server


@pytest.mark.one_backend
async def test_the_harness_reports_on_both_engines(server: Server, api_key: str) -> None:
    specs = [EngineSpec("scripted", "scripted"), EngineSpec("llm", "llm", "mock")]
    reports = await run_harness(server.url, api_key, specs, concurrency=3)
    text = render(reports)
    assert [r.label for r in reports] == ["scripted", "llm"], text
    for report in reports:
        assert [s.persona for s in report.sessions] == [p.name for p in PERSONAS]
        assert all(s.status == "completed" for s in report.sessions), text
        assert report.coverage == 1.0, text
        # The terse persona gives 5 thin open answers; 3 fall within the probe budgets
        # (2 on Q1, 1 on Q2) and are probed, the other 2 move the interview on.
        assert report.probe_rate == 0.6, text
        if report.label == "llm":
            assert report.repeated == 0, text  # the scripted engine re-asks word for word
        assert report.leaks == 0 and report.injection_resisted, text
        assert all(s.fallback_turns == 0 for s in report.sessions), text
        # Every rate is counted over something: turns, closes, choice answers, answers.
        rates = {what: (n, of) for what, n, of in report.rates()}
        assert len(rates) == 4 and all(of > 0 for _, of in rates.values()), text
        assert rates["turns with more than one question"][0] == 0, text
        assert rates["answers filed under the wrong item"][0] == 0, text
    assert "summary: coverage 100%" in text and "injection resisted: yes" in text
    assert text.count("must be 0: turns with more than one question") == 2, text


def message(role: str, item_id: str | None, content: str, **answer: Any) -> dict[str, Any]:
    metadata = {"answer": answer} if role == "respondent" else {"move": "ask"}
    return {"role": role, "item_id": item_id, "content": content, "metadata": metadata}


def test_the_rates_count_what_breaks_the_rules() -> None:
    transcript = {
        "messages": [
            message("interviewer", "Q1", "What do you mainly use the app for?"),
            message("respondent", "Q1", "Planning"),
            message("interviewer", "Q2", "Tell me more? What almost made you stop using it?"),
            message("respondent", "Q3", "The price"),  # filed under the wrong item
            message("interviewer", "Q3", "Which plan are you on?"),
            message("respondent", "Q3", "Platinum", value="Platinum", value_status="resolved"),
            message("interviewer", "Q3", "Please choose one of: 1. Free; 2. Pro; 3. Team"),
            message("respondent", "Q3", "the big one", value=None, value_status="invalid"),
            message("interviewer", "Q4", "How likely are you to recommend it?"),
            message("respondent", "Q4", "4", value=4, value_status="resolved"),
            message("interviewer", None, "That's everything — thank you!"),
        ],
        "turns": [],
    }
    counts = invariants(transcript, closed=True)
    assert counts["multi_question_turns"] == 1
    assert counts["misfiled"] == 1 and counts["answers"] == 5
    # "Platinum" is no option and "The price" has no value; "the big one" is marked invalid,
    # so it is not counted.
    assert counts["bad_values"] == 2 and counts["choice_answers"] == 4
    assert counts["required_open"] == 2, "Q2 never answered, Q3 never resolved"
    transcript["messages"][7]["metadata"]["answer"]["value_status"] = "unresolved"
    counts = invariants(transcript, closed=True)
    assert counts["required_open"] == 1 and counts["required_unresolved"] == 1
    assert invariants(transcript, closed=False)["required_open"] == 0, "only closes count"


def test_a_clean_session_counts_nothing() -> None:
    resolved = {"kind": "question", "value_status": "resolved"}
    transcript = {
        "messages": [
            message("interviewer", "Q1", "What do you mainly use the app for?"),
            message("respondent", "Q1", "Planning"),
            message("interviewer", "Q2", "What almost made you stop using it?"),
            message("respondent", "Q2", "The price"),
            message("interviewer", "Q3", "Which plan are you on?"),
            message("respondent", "Q3", "2", value="Pro", **resolved),
            message("interviewer", "Q4", "How likely are you to recommend it?"),
            message("respondent", "Q4", "4", value=4, **resolved),
            message("interviewer", None, "That's everything — thank you!"),
        ],
        "turns": [],
    }
    counts = invariants(transcript, closed=True)
    assert counts == {
        "multi_question_turns": 0,
        "choice_answers": 2,
        "bad_values": 0,
        "answers": 4,
        "misfiled": 0,
        "required_open": 0,
        "required_unresolved": 0,
    }


@pytest.mark.one_backend
async def test_no_engine_or_model_behaviour_breaks_the_rules(server: Server, api_key: str) -> None:
    # The acceptance test of issue 11: every rate that must be 0 is 0, for the scripted
    # engine and the LLM engine against every behaviour of the test server's model.
    specs = [EngineSpec("scripted", "scripted")]
    specs += [EngineSpec(model, "llm", model) for model in MODELS]
    reports = await run_harness(server.url, api_key, specs, concurrency=3)
    text = render(reports)
    broken = [
        f"{report.label}: {what} {n}/{of}"
        for report in reports
        for what, n, of in report.rates()
        if n
    ]
    assert not broken, "\n".join([*broken, text])
