"""Refuses to put an interview in front of respondents on an engine this deployment cannot run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.engines.upstream import UpstreamProbe
from runtime.interviews import service as interviews
from runtime.platform.errors import Conflict
from runtime.stores.database import Database


async def require_engine(probe: UpstreamProbe, engine: str) -> None:
    """Conflict when `engine` is "llm" and its upstream is not configured or not answering:
    otherwise every turn would wait out its retries before the scripted fallback."""
    if engine != "llm":
        return
    status = await probe.status()
    if not status.ok:
        raise Conflict(f"this interview uses engine llm, but {status.problem}", field="engine")


async def require_interview_engine(
    db: Database, probe: UpstreamProbe, workspace_id: str, interview_id: str
) -> None:
    """The same for a stored interview (NotFound if it is not in the workspace)."""
    interview = await interviews.get(db, workspace_id, interview_id)
    await require_engine(probe, interview.engine)


async def require_for_update(
    db: Database,
    probe: UpstreamProbe,
    workspace_id: str,
    interview_id: str,
    fields: Mapping[str, Any],
) -> None:
    """Switching an interview that is already live (active or paused) to the LLM engine."""
    if fields.get("engine") != "llm":
        return
    interview = await interviews.get(db, workspace_id, interview_id)
    if interview.status in ("active", "paused"):
        await require_engine(probe, "llm")
