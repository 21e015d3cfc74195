"""The quality harness in a small run: both engines, every persona, through the real server."""

from __future__ import annotations

from bench.interviewer import EngineSpec, render, run_harness
from bench.personas import PERSONAS
from tests.conftest import Server


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
    assert "summary: coverage 100%" in text and "injection resisted: yes" in text
