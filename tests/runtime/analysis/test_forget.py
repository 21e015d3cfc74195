"""The stored analysis JSON cleaned of an erased session, whatever its shape."""

from __future__ import annotations

from runtime.analysis.forget import scrub


def test_scrub_removes_the_session_from_ids_and_references_and_keeps_counts() -> None:
    gone, kept = "ses_gone", "ses_kept"
    result = {
        "themes": [{"id": "th_1", "prevalence": 2, "session_ids": [gone, kept]}],
        "divergent_views": [
            {"id": "dv_1", "sides": [{"stance": "for", "prevalence": 1, "session_ids": [gone]}]}
        ],
    }
    assert scrub(result, gone) == {
        "themes": [{"id": "th_1", "prevalence": 2, "session_ids": [kept]}],
        "divergent_views": [
            {"id": "dv_1", "sides": [{"stance": "for", "prevalence": 1, "session_ids": []}]}
        ],
    }
    nodes = [
        {
            "id": "c1",
            "refs": [
                {"session_id": gone, "message_id": "m1", "start": 0, "end": 4},
                {"session_id": kept, "message_id": "m2", "start": 1, "end": 5},
            ],
        }
    ]
    assert scrub(nodes, gone) == [
        {"id": "c1", "refs": [{"session_id": kept, "message_id": "m2", "start": 1, "end": 5}]}
    ]
    assert scrub(nodes, "ses_other") == nodes
