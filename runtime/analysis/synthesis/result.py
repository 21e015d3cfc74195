"""A verified draft as it is stored: the result JSON of a synthesis row and its quote rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.analysis.drafts import Draft
from runtime.analysis.synthesis.verify import Verified


def result_json(draft: Draft, verified: Verified) -> dict[str, Any]:
    """The `syntheses.result` document (its shape is documented in docs/synthesis.md); the
    quotes are rows of their own, so erasing a session removes its words everywhere."""
    themes = [
        {
            "id": f"th_{i + 1}",
            "title": t.title,
            "description": t.description,
            "sentiment": t.sentiment,
            "prevalence": len(set(t.session_ids)),
            "mentions": t.mentions,
            "keywords": list(t.keywords),
            "session_ids": sorted(set(t.session_ids)),
        }
        for i, t in enumerate(draft.themes)
    ]
    views = [
        {
            "id": f"dv_{i + 1}",
            "title": v.title,
            "description": v.description,
            "theme_id": None if v.theme_index is None else f"th_{v.theme_index + 1}",
            "sides": [
                {
                    "stance": side.stance,
                    "prevalence": len(set(side.session_ids)),
                    "session_ids": sorted(set(side.session_ids)),
                }
                for side in v.sides
            ],
        }
        for i, v in enumerate(draft.divergent_views)
    ]
    return {
        "summary": draft.summary,
        "themes": themes,
        "divergent_views": views,
        "counts": {
            "quotes_shown": len(verified.kept),
            "quotes_dropped": verified.dropped,
            "sessions_read": draft.sessions_read,
            "sessions_reused": draft.sessions_reused,
        },
        "model": draft.model,
        "notes": list(draft.notes),
    }


def quote_rows(
    verified: Verified, workspace_id: str, interview_id: str, synthesis_id: str, at: datetime
) -> list[dict[str, Any]]:
    # Numbered in the order the engine ranked them (best first), so a report lists them in
    # that order, and the same run of the same sessions gives the same rows.
    stem = synthesis_id.removeprefix("syn_")
    return [
        {
            "id": f"qt_{stem}_{index:04d}",
            "workspace_id": workspace_id,
            "interview_id": interview_id,
            "session_id": k.session_id,
            "message_id": k.found.message_id,
            "start": k.found.start,
            "end": k.found.end,
            "text": k.found.text,
            "score": k.found.score,
            "finding_id": None,
            "synthesis_id": synthesis_id,
            "theme_id": k.group,
            "created_at": at,
        }
        for index, k in enumerate(verified.kept)
    ]
