"""The job functions a worker runs, by name: every name the api may enqueue."""

from __future__ import annotations

from workers.autoclose import check_auto_close
from workers.exports import run_export
from workers.pdfs import render_pdf
from workers.summaries import analyze_session
from workers.synthesis import run_synthesis
from workers.types import JobFunction
from workers.voice import finalize_voice

# Each is `async def name(ctx: JobContext, *, <ids>) -> result`, enqueued by its __name__.
FUNCTIONS: list[JobFunction] = [
    run_export,
    render_pdf,
    finalize_voice,
    run_synthesis,
    check_auto_close,
    analyze_session,
]
