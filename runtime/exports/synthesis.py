"""An interview's latest completed synthesis as an export ZIP holds it: JSON, Markdown and PDF."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from runtime.analysis.synthesis import reads, report_md
from runtime.analysis.synthesis.views import Quote, Synthesis
from runtime.analysis.vocabulary import EngineName
from runtime.exports.source import Selection
from runtime.platform.errors import ConfigurationError
from runtime.platform.json_output import dumps
from runtime.stores import schema
from runtime.stores.database import Database

FOLDER = "synthesis"
JSON_PATH, MARKDOWN_PATH, PDF_PATH = (f"{FOLDER}/synthesis.{ext}" for ext in ("json", "md", "pdf"))


@dataclass(frozen=True)
class SynthesisFiles:
    """The files, and which synthesis they are of (the manifest says so)."""

    synthesis_id: str
    generated_at: datetime | None
    engine: EngineName
    model: str | None
    session_count: int | None
    files: tuple[tuple[str, bytes], ...]

    def manifest(self) -> dict[str, object]:
        return {
            "id": self.synthesis_id,
            "generated_at": self.generated_at,
            "engine": self.engine,
            "model": self.model,
            "session_count": self.session_count,
            "files": [path for path, _ in self.files],
        }


async def for_export(
    db: Database,
    selection: Selection,
    as_of: datetime,
    font_dirs: tuple[Path, ...],
    admit: Callable[[list[str]], Awaitable[set[str]]] | None = None,
) -> SynthesisFiles | None:
    """The files of the interview's newest synthesis completed by `as_of` (the export's
    creation, so that a retry writes the same ZIP), participants anonymised if the export
    is; None when the export is not of one interview or the interview has none. Without
    fonts to draw it, the PDF is left out (the manifest's list of files says so). `admit`
    (runtime.exports.members.record) is told the sessions it quotes: their words are in
    the ZIP, so erasing one of them names the export, whatever the export's filters."""
    if selection.interview_id is None:
        return None
    found = await reads.latest(
        db, selection.workspace_id, selection.interview_id, anonymize=selection.anonymize,
        as_of=as_of,
    )  # fmt: skip
    if found is None:
        return None
    if admit is not None:
        await admit(sorted({q.session_id for q in _quotes(found)}))
    i = schema.interviews
    async with db.connect() as conn:
        title = str(await conn.scalar(select(i.c.title).where(i.c.id == selection.interview_id)))
    files = [
        (JSON_PATH, (dumps(found) + "\n").encode()),
        (MARKDOWN_PATH, report_md.markdown(found, title).encode()),
    ]
    # Imported on first use, as the transcripts' renderer is: fpdf2 and the fonts are ~30 MB.
    from runtime.analysis.synthesis import report_pdf

    try:
        files.append((PDF_PATH, await report_pdf.render(found, title, font_dirs)))
    except ConfigurationError:
        pass
    return SynthesisFiles(
        found.id, found.generated_at, found.engine, found.model, found.session_count, tuple(files)
    )


def _quotes(s: Synthesis) -> list[Quote]:
    themed = [q for t in s.themes for q in t.quotes]
    return themed + [q for v in s.divergent_views for side in v.sides for q in side.quotes]
