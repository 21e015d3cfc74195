"""The coverage section at the end of a transcript PDF, read back with pdftotext."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.runtime.transcripts.test_pdf import text_of, transcript, write


def test_the_coverage_rows_follow_the_last_message(tmp_path: Path) -> None:
    rows = [("Q1", "probed"), ("Q2", "answered · 团队"), ("Q3", "unresolved"), ("Q4", "skipped")]
    doc = dataclasses.replace(transcript("Which plan?", "团队, I think"), coverage=rows)
    text = text_of(write(tmp_path, doc))
    after = text[text.index("团队, I think") :]
    assert "Coverage" in after
    for label, value in rows:
        assert label in after and value in after, (label, value)
    assert after.index("Q1") < after.index("Q2") < after.index("Q3") < after.index("Q4")


def test_without_rows_there_is_no_coverage_section(tmp_path: Path) -> None:
    assert "Coverage" not in text_of(write(tmp_path, transcript("Which plan?", "Pro")))
